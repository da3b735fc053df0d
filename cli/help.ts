// Examples for `--help` of the commands whose own file does not add them, kept in one place so every
// command has some (commands that add their own keep theirs), and the top-level help's workflows.
import type { Command } from 'commander';

const EXAMPLES: Record<string, string[]> = {
  images: ['tsbuild images', 'tsbuild images --format "{{.Repository}}:{{.Tag}} {{.ID}}"', 'tsbuild images --format json', 'tsbuild images --no-trunc'],
  inspect: ['tsbuild inspect my-app', 'tsbuild inspect --type manifest my-app', "tsbuild inspect my-app | jq '.Config.Env'"],
  tag: ['tsbuild tag my-app registry.example/team/my-app:1.2', 'tsbuild tag 3f2a9c1e4b5d my-app:latest my-app:1'],
  rmi: ['tsbuild rmi my-app', 'tsbuild rmi -f 3f2a9c1e4b5d'],
  info: ['tsbuild info', 'tsbuild info --format json | jq .isolation'],
  logout: ['tsbuild logout registry.example', 'tsbuild logout --all'],
  'check-store': ['tsbuild check-store', 'tsbuild fsck -q --root /var/lib/tsbuild'],
  s2i: ['tsbuild s2i build ./app registry.example/ubi9/nodejs-20 my-app', 'tsbuild s2i usage registry.example/ubi9/nodejs-20'],
  's2i build': [
    'tsbuild s2i build ./app nodejs-builder my-app',
    'tsbuild s2i build --incremental ./app nodejs-builder my-app',
    'tsbuild s2i build https://git.example/app.git#v1.2 nodejs-builder my-app',
  ],
  's2i usage': ['tsbuild s2i usage registry.example/ubi9/nodejs-20'],
};

const TOP_LEVEL = `
Examples:
  tsbuild build -t my-app .                       # Containerfile in the current directory
  tsbuild build --progress=plain -t my-app .      # CI log: one line per step, durations, full output
  tsbuild images
  tsbuild history my-app
  tsbuild push my-app oci-archive:/tmp/my-app.tar
  tsbuild info                                    # which isolation modes work here, and why not

Run "tsbuild COMMAND --help" for a command's flags and examples.
Exit codes: 0 ok, 1 an error you can fix, 2 bad command line, 125 internal error, 130 interrupted.`;

function hasAfterHelp(cmd: Command): boolean {
  // commander keeps addHelpText('after', ...) as 'afterHelp' listeners.
  return (cmd as unknown as { listenerCount(e: string): number }).listenerCount('afterHelp') > 0;
}

export function addExamples(program: Command): void {
  program.addHelpText('after', TOP_LEVEL);
  const visit = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const name = prefix ? `${prefix} ${sub.name()}` : sub.name();
      const ex = EXAMPLES[name];
      if (ex && !hasAfterHelp(sub)) sub.addHelpText('after', `\nExamples:\n${ex.map((l) => '  ' + l).join('\n')}`);
      visit(sub, name);
    }
  };
  visit(program, '');
}

// `tsbuild login` / `tsbuild logout`: podman's commands over the library's login()/logout().
// We never prompt and never echo the password; it comes from -p or, better, --password-stdin.
import type { Command } from 'commander';
import { UserError } from '../../oci/errors.js';
import { tlsOptions, type RegistryFlags } from './registry-flags.js';

interface LoginFlags extends RegistryFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerLoginCommands(program: Command): void {
  tlsOptions(
    program
      .command('login')
      .description('check credentials against a registry and store them in the auth file (mode 0600)')
      .argument('<registry>', 'registry host[:port], optionally with a repository namespace')
      .option('-u, --username <user>', 'user name')
      .option('-p, --password <pass>', 'password (visible to other users in the process list: prefer --password-stdin)')
      .option('--password-stdin', 'read the password from standard input'),
  )
    .addHelpText('after', '\nExamples:\n  echo "$TOKEN" | tsbuild login -u ci --password-stdin registry.example\n  tsbuild login --tls-verify=false -u me -p secret localhost:5000')
    .action(async (registry: string, flags: LoginFlags) => {
      if (flags.password !== undefined && flags.passwordStdin) throw new UserError('login: give either --password or --password-stdin, not both');
      let password = flags.password;
      if (flags.passwordStdin) password = (await readStdin()).replace(/\r?\n$/, '');
      if (!flags.username || password === undefined || password === '') {
        throw new UserError(`login ${registry}: needs --username and --password or --password-stdin (tsbuild does not prompt)`);
      }
      const { login } = await import('../../registry/api.js');
      await login(registry, flags.username, password, { authfile: flags.authfile, certDir: flags.certDir, tlsVerify: flags.tlsVerify });
      process.stdout.write('Login Succeeded!\n');
    });

  program
    .command('logout')
    .description('remove stored credentials for a registry (or all of them)')
    .argument('[registry]', 'registry host[:port] as given to login')
    .option('--authfile <path>', 'auth file to change (default: $REGISTRY_AUTH_FILE, then podman\'s auth.json)')
    .option('-a, --all', 'remove the credentials of every registry')
    .action(async (registry: string | undefined, flags: { authfile?: string; all?: boolean }) => {
      const [{ logout, logoutAll }, { defaultAuthFile }] = await Promise.all([import('../../registry/api.js'), import('../../registry/auth/credentials.js')]);
      if (flags.all) {
        if (registry) throw new UserError('logout: give a registry or --all, not both');
        await logoutAll({ authfile: flags.authfile });
        process.stdout.write('Removed login credentials for all registries\n');
        return;
      }
      if (!registry) throw new UserError('logout: name a registry, or use --all');
      if (!(await logout(registry, { authfile: flags.authfile }))) {
        throw new UserError(`not logged into ${registry} (in ${flags.authfile ?? defaultAuthFile()})`);
      }
      process.stdout.write(`Removed login credentials for ${registry}\n`);
    });
}

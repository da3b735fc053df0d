// Progress events the registry transport reports through RegistryOptions.onProgress. The CLI
// renders them; tests count them.

export type ProgressEvent =
  | { type: 'retry'; reference: string; what: string; attempt: number; delayMs: number; reason: string }
  | { type: 'blob-skipped'; reference: string; digest: string; size: number }
  | { type: 'blob-mounted'; reference: string; digest: string; from: string }
  | { type: 'blob-progress'; reference: string; digest: string; done: number; total: number; direction: 'pull' | 'push' }
  | { type: 'blob-done'; reference: string; digest: string; size: number; direction: 'pull' | 'push' }
  | { type: 'blob-resumed'; reference: string; digest: string; offset: number };

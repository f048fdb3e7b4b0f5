import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/meshsight.js', import.meta.url));

export interface RunningMeshsight {
  child: ChildProcess;
  /** Every JSON log line written so far. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the port a component bound, read from its "listening" log line. */
  portOf(component: string, timeoutMs?: number): Promise<number>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `meshsight <args>` as a child process with the given environment overrides. */
export function runMeshsight(args: string[], env: Record<string, string>): RunningMeshsight {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    stderr: () => stderr,
    async portOf(component, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = logs.find((l) => l['msg'] === 'listening' && l['component'] === component);
        if (line) return line['port'] as number;
        if (child.exitCode !== null) throw new Error(`meshsight exited with ${child.exitCode}: ${stderr}\n${JSON.stringify(logs.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${component} did not listen within ${timeoutMs} ms; stderr: ${stderr}`);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls a URL until it answers 200 or the time is up. */
export async function waitForOk(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return res;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms: ${last}`);
}

// `gan-studio serve`: runs the browser host until SIGINT / SIGTERM, then stops active runs
// gracefully (each writes a checkpoint) and exits 0.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Studio } from '../../core/studio';
import { startWebServer } from '../web/server';
import type { Command } from './args';

/**
 * The built renderer: beside the CLI bundle (out/main/cli.js → out/renderer), or the repository's
 * out/renderer when running from the TypeScript sources. Null when neither holds index.html.
 */
export function findRendererDir(here: string = import.meta.dirname): string | null {
  const candidates = [path.join(here, '../renderer'), path.join(here, '../../../../out/renderer')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? null;
}

export async function serve(studio: Studio, cmd: Extract<Command, { name: 'serve' }>, version: string): Promise<number> {
  const rendererDir = findRendererDir();
  if (!rendererDir) {
    process.stderr.write('gan-studio: the UI is not built (no out/renderer/index.html). Run `npm run build` in the repository first.\n');
    return 1;
  }
  const server = await startWebServer({ studio, version, rendererDir, host: cmd.host, port: cmd.port });
  const open = server.token ? `${server.url}?token=${server.token}` : server.url;
  if (cmd.json) {
    process.stdout.write(JSON.stringify({ event: 'listening', url: server.url, port: server.port, host: server.host, token: server.token, open }) + '\n');
  } else {
    process.stdout.write(`GAN Studio at ${open}\n`);
    if (server.token) {
      process.stdout.write(`  access token: ${server.token}\n  (needed because ${server.host} is not loopback; anyone who can reach this port and has the token can use the studio)\n`);
    }
    process.stdout.write(`  home: ${studio.home}\n  Ctrl-C stops it.\n`);
  }

  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 1) resolve();
      else process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const active = studio.activeRunIds().length;
  if (!cmd.json) {
    process.stderr.write(active ? `\nStopping ${active} active run${active === 1 ? '' : 's'} (saving checkpoints)…\n` : '\nStopping…\n');
  }
  await studio.stopAll();
  await server.close();
  if (cmd.json) process.stdout.write(JSON.stringify({ event: 'stopped', runsStopped: active }) + '\n');
  return 0;
}

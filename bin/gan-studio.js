#!/usr/bin/env node
// The `gan-studio` command: runs the built CLI bundle (npm run build makes out/main/cli.js).
import { existsSync } from 'node:fs';

const cli = new URL('../out/main/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('gan-studio: not built yet. Run `npm run build` in the repository first.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exit(await main(process.argv.slice(2)));

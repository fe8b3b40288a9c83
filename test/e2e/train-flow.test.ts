// The train flow (helpers/train-flow.ts) in Debian's Chromium against the built
// `gan-studio serve` (GAN_STUDIO_BACKEND=wasm) on a temp home. test/e2e/electron.test.ts runs the
// same flow in the Electron app where its binary exists.
import type { Browser } from 'playwright';
import { expect } from 'vitest';
import { chromiumMissingReason, launchChromium } from './helpers/browser';
import { startServe, type RunningServe, stopServeCleanly } from './helpers/serve';
import { describeTrainFlow } from './helpers/train-flow';

const missing = chromiumMissingReason();
if (missing) console.warn(missing);

describeTrainFlow('train flow in Chromium: import → train → stop → runs → resume', missing, '', async () => {
  const server: RunningServe = await startServe({ env: { GAN_STUDIO_BACKEND: 'wasm' } });
  const browser: Browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(server.url);
  return {
    page,
    close: async () => {
      await browser.close();
      await stopServeCleanly(server);
    },
  };
});

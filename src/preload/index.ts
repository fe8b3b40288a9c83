// The sandboxed preload: exposes exactly one object, `window.api`, implementing the contract's
// `Api` over `ipcRenderer.invoke`. Nothing else leaks into the page: no ipcRenderer, no
// process.env, no Node. Built as CommonJS (out/preload/index.cjs) because sandboxed preloads
// cannot be ES modules, and as one file because they can only require('electron').

import { contextBridge, ipcRenderer } from 'electron';
import { Channels, type Api, type Channel, type RequestOf, type ResponseOf } from '../shared/contract';

/** Sends one request and unwraps the `{result}` / `{error}` envelope the host replies with. */
async function invoke<C extends Channel>(channel: C, request?: RequestOf<C>): Promise<ResponseOf<C>> {
  const reply: unknown = await ipcRenderer.invoke(channel, request);
  if (typeof reply === 'object' && reply !== null) {
    if ('error' in reply) {
      const error = reply.error as { message?: unknown } | null;
      const message = typeof error?.message === 'string' ? error.message : 'Unknown error';
      // Only the message survives contextBridge: custom Error properties are dropped on the way.
      throw new Error(message);
    }
    if ('result' in reply) return reply.result as ResponseOf<C>;
  }
  throw new Error(`Malformed reply on ${channel}`);
}

const api: Api = {
  appInfo: () => invoke(Channels.appInfo),
};

contextBridge.exposeInMainWorld('api', api);

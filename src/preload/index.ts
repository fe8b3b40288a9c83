// The sandboxed preload: exposes exactly one object, `window.api`, implementing the contract's
// `Api` over `ipcRenderer.invoke` (requests) and `ipcRenderer.on` (pushed events, each `onX`
// returning an unsubscribe). Nothing else leaks into the page: no ipcRenderer, no process.env, no
// Node. Built as CommonJS (out/preload/index.cjs) because sandboxed preloads cannot be ES modules,
// and as one file because they can only require('electron').

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { createApi, FILES_URL_BASE, isRequestChannel, EVENT_CHANNELS } from '../shared/contract';

const api = createApi({
  request: (channel, request) => {
    // The channel comes from createApi, never from the page; check anyway.
    if (!isRequestChannel(channel)) return Promise.reject(new Error(`Unknown channel ${String(channel)}`));
    return ipcRenderer.invoke(channel, request);
  },
  subscribe: (event, cb) => {
    if (!(EVENT_CHANNELS as readonly string[]).includes(event)) throw new Error(`Unknown event ${String(event)}`);
    // The page's callback never sees the IpcRendererEvent (it would expose `sender`).
    const listener = (_event: IpcRendererEvent, payload: unknown) => cb(payload);
    ipcRenderer.on(event, listener);
    return () => {
      ipcRenderer.removeListener(event, listener);
    };
  },
  filesBase: FILES_URL_BASE.electron,
});

contextBridge.exposeInMainWorld('api', api);

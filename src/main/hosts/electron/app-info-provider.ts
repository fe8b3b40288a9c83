// Answers `app:info`. A small service so that the IPC layer only delegates; when the core's
// `Studio` facade arrives it implements the same `appInfo()` and replaces this class in index.ts.

import type { AppInfo } from '../../../shared/contract';

export interface AppInfoProvider {
  appInfo(): Promise<AppInfo>;
}

export interface BasicAppInfoOptions {
  version: string;
  platform: string;
  home: string;
  /** The training backend once known; null (the default) while no engine has started. */
  backend?: () => AppInfo['backend'];
}

/** The shell's provider: facts the host knows without starting the engine. */
export class BasicAppInfoProvider implements AppInfoProvider {
  constructor(private readonly options: BasicAppInfoOptions) {}

  async appInfo(): Promise<AppInfo> {
    const { version, platform, home, backend } = this.options;
    return { version, platform, home, backend: backend?.() ?? null };
  }
}

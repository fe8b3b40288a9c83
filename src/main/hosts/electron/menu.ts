// The application menu: minimal for now (File ▸ Quit, Help ▸ About), plus what each platform
// expects (the app menu on macOS, Edit for clipboard shortcuts, View for DevTools in development).

import { Menu, type MenuItemConstructorOptions } from 'electron';

export function buildMenu({ dev }: { dev: boolean }): Menu {
  const mac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [{ role: 'appMenu' } as const] : []),
    { label: 'File', submenu: [mac ? { role: 'close' } : { role: 'quit' }] },
    { role: 'editMenu' },
    ...(dev ? [{ role: 'viewMenu' } as const] : []),
    { role: 'help', submenu: [{ role: 'about' }] },
  ];
  return Menu.buildFromTemplate(template);
}

import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { installBrowserApi } from './lib/api-client';
import { appStore } from './lib/stores/app.svelte';

// In a browser (gan-studio serve) there is no Electron preload: build window.api over the WebSocket.
installBrowserApi({ onConnectionChange: (state) => appStore.setLink(state) });

const target = document.getElementById('app');
if (!target) throw new Error('GAN Studio: #app element missing from index.html');

export default mount(App, { target });

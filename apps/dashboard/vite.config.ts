import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built into dist/, which the control plane serves at `/` (the API stays at /v1).
// `npm run dev -w @idlegrid/dashboard` proxies /v1 to a control plane on IDLEGRID_CLOUD_URL.
export default defineConfig(() => ({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: { proxy: { '/v1': process.env['IDLEGRID_CLOUD_URL'] ?? 'http://127.0.0.1:8080' } },
}));

import { defineConfig } from "vite";

// JSX through Vite's own transform: no React plugin needed for a build.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic" } },
  server: { port: 3000, strictPort: true },
  preview: { port: 3000, strictPort: true },
});

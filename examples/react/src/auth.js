import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

// The service's URL: `?auth=` on the page (tests), else VITE_AUTH_URL at build time.
const fromPage = new URLSearchParams(window.location.search).get("auth");
export const authUrl = fromPage || import.meta.env.VITE_AUTH_URL || "http://localhost:3001";

// Another origin than the page's: the client sends cookies with every request
// (credentials: "include"), and the service answers with CORS for trusted origins.
export const authClient = createAuthClient({
  baseURL: authUrl,
  plugins: [jwtClient()],
  fetchOptions: { credentials: "include" },
});

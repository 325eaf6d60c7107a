import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { authClient } from "./auth.js";

function Field({ name, type = "text", label }) {
  return (
    <label>
      {label} <input name={name} type={type} aria-label={label} required />
    </label>
  );
}

function SignedOut() {
  const [error, setError] = useState("");
  const submit = (action) => async (event) => {
    event.preventDefault();
    setError("");
    const form = Object.fromEntries(new FormData(event.currentTarget));
    const { error } = await action(form);
    if (error) setError(error.message || error.statusText || "Something went wrong");
  };
  return (
    <main>
      <h1>Sign up</h1>
      <form aria-label="sign-up" onSubmit={submit((f) => authClient.signUp.email(f))}>
        <Field name="name" label="Name" />
        <Field name="email" type="email" label="Email" />
        <Field name="password" type="password" label="Password" />
        <button type="submit">Sign up</button>
      </form>
      <h1>Sign in</h1>
      <form aria-label="sign-in" onSubmit={submit((f) => authClient.signIn.email(f))}>
        <Field name="email" type="email" label="Email" />
        <Field name="password" type="password" label="Password" />
        <button type="submit">Sign in</button>
      </form>
      {error && <p role="alert">{error}</p>}
    </main>
  );
}

function SignedIn({ user }) {
  const [token, setToken] = useState("");
  const getToken = async () => {
    const { data, error } = await authClient.token();
    setToken(error ? `error: ${error.message}` : data.token);
  };
  return (
    <main>
      <p data-testid="signed-in">Signed in as {user.email}</p>
      <button type="button" onClick={getToken}>Get token</button>
      {token && <pre data-testid="token">{token}</pre>}
      <button type="button" onClick={() => authClient.signOut()}>Sign out</button>
    </main>
  );
}

function App() {
  const { data, isPending } = authClient.useSession();
  if (isPending) return <p>Loading…</p>;
  return data ? <SignedIn user={data.user} /> : <SignedOut />;
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

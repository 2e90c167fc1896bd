// A certified OpenID Connect provider (panva/oidc-provider) for the console's sign-in tests.
// One confidential client; PKCE (S256) required; accounts whose claims each test writes to
// CLAIMS_FILE as {"<sub>": {claims}}, read afresh at every sign-in. The development
// interactions give a login form that accepts any login as the subject.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const { PORT, CLAIMS_FILE, CLIENT_ID, CLIENT_SECRET, CONSOLE_URL } = process.env;

function claimsFor(sub) {
  const all = JSON.parse(readFileSync(CLAIMS_FILE, "utf8") || "{}");
  return all[sub] || {};
}

const provider = new Provider(`http://localhost:${PORT}`, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${CONSOLE_URL}/oidc/callback/`],
      post_logout_redirect_uris: [`${CONSOLE_URL}/login/`],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  pkce: { required: () => true, methods: ["S256"] },
  cookies: { keys: ["certified-idp-cookie-key-for-tests-only"] },
  // The console asks for "openid email profile"; groups travel with the profile scope here.
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["given_name", "family_name", "groups"],
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { ...claimsFor(sub), sub }; } };
  },
});

provider.listen(Number(PORT), "127.0.0.1", () => {
  console.log(`listening on ${PORT}`);
});

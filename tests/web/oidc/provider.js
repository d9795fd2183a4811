// A real OpenID Connect provider (panva/node-oidc-provider) for the web tests: authorization-code flow with
// PKCE required, signed ID tokens (its own RS256 key), discovery and JWKS. Its built-in development login and
// consent pages stand in for the province's login screen: the login name entered is the account's id.
//
// Configuration from the environment:
//   OIDC_PORT           the port to listen on (issuer http://127.0.0.1:<port>)
//   OIDC_CLIENT_ID      the gateway's client id
//   OIDC_CLIENT_SECRET  its secret (client_secret_basic)
//   OIDC_REDIRECT_URI   the gateway's callback
//   OIDC_ACCOUNTS       JSON {login: {email, email_verified, name}} the provider knows
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const configuration = {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(accounts[id] || {}) };
      },
    };
  },
  cookies: { keys: ['chibo-test-oidc-cookie-key'] },
  async renderError(ctx, out, error) {
    console.error('render_error', JSON.stringify(out), error && error.stack);
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>error</title><h1 id="error">${out.error}</h1><p>${out.error_description}</p>`;
  },
  features: { devInteractions: { enabled: true } },
};

const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));

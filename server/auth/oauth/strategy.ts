import { Strategy } from "remix-auth/strategy";
import { OAuth2Strategy } from "remix-auth-oauth2";
import { stateCookieOptions } from "./cookies";

export interface LoginStrategyOptions {
  /** The provider's name, also the remix-auth strategy name and the URL segment. */
  name: string;
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  scopes: string[];
  /** This request's callback URL and whether its cookies must be Secure. */
  forRequest(request: Request): { redirectURI: string; secure: boolean };
}

/**
 * An OAuth2Strategy whose redirect URI and cookie security follow the request.
 * remix-auth-oauth2 fixes both when a strategy is built, but without BASE_URL
 * the callback URL depends on the origin the browser used, and Secure on
 * whether it came over https. So each request gets its own OAuth2Strategy
 * (a cheap object); the library still does the whole flow: state, PKCE S256,
 * its cookie, the token exchange.
 */
export class OAuth2LoginStrategy<User> extends Strategy<User, OAuth2Strategy.VerifyOptions> {
  readonly name: string;

  constructor(
    private readonly options: LoginStrategyOptions,
    verify: Strategy.VerifyFunction<User, OAuth2Strategy.VerifyOptions>,
  ) {
    super(verify);
    this.name = options.name;
  }

  authenticate(request: Request): Promise<User> {
    const { redirectURI, secure } = this.options.forRequest(request);
    const strategy = new OAuth2Strategy<User>(
      {
        clientId: this.options.clientId,
        clientSecret: this.options.clientSecret,
        authorizationEndpoint: this.options.authorizeUrl,
        tokenEndpoint: this.options.tokenUrl,
        redirectURI,
        scopes: this.options.scopes,
        cookie: stateCookieOptions(this.options.name, secure),
      },
      this.verify,
    );
    return strategy.authenticate(request);
  }
}

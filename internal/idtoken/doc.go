// Package idtoken obtains the CI's OIDC identity token (GitHub Actions'
// token request endpoint, GitLab CI id_tokens, or a token given explicitly)
// and decodes its claims without trusting them: Fulcio and PyPI verify the
// token; the claims are only read to describe the build and to explain
// refusals.
package idtoken

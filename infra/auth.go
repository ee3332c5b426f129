package infra

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/crm"
)

// users is the identity side of the stack: the pool that issues staff
// tokens, its hosted sign-in domain, and the app clients of the web console
// and the mobile app. Machine clients (a resource server with its scopes and
// a client-credentials client) are added to the same pool beside these.
type users struct {
	pool   awscognito.UserPool
	domain awscognito.UserPoolDomain
	web    awscognito.UserPoolClient
	mobile awscognito.UserPoolClient
	// machines are the integrations' app clients, in the stage's order.
	machines []awscognito.UserPoolClient
}

// clients returns the app clients whose tokens the API accepts: the
// authorizer lists them as audiences, and for a client-credentials access
// token, which has no aud, API Gateway checks client_id against them.
func (u users) clients() []awscognito.IUserPoolClient {
	out := []awscognito.IUserPoolClient{u.web, u.mobile}
	for _, m := range u.machines {
		out = append(out, m)
	}
	return out
}

// newUsers returns the staff user pool with one group per crm.Role; the API
// reads a caller's roles from the token's cognito:groups claim.
//
// Staff are invited by an administrator, never self-registered, and must
// use an authenticator app as a second factor, because every account can
// read personal data. SMS is not offered: it needs an SNS role and spend,
// and is open to SIM swapping.
//
// consoleURL, the deployed console's address, is a callback and sign-out
// URL of the web client besides the stage's own.
func newUsers(scope constructs.Construct, st *Stage, consoleURL string) users {
	props := &awscognito.UserPoolProps{
		UserPoolName:        jsii.String("clientele-" + st.Name + "-staff"),
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                awscognito.Mfa_REQUIRED,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		DeletionProtection: jsii.Bool(st.Retain),
		RemovalPolicy:      removalPolicy(st),
		UserInvitation: &awscognito.UserInvitationConfig{
			EmailSubject: jsii.String("Your Clientele account"),
			EmailBody: jsii.String("Your Clientele user name is {username} and your temporary password is {####}. " +
				"Sign in within three days; you will be asked for a new password and an authenticator app."),
		},
		FeaturePlan: awscognito.FeaturePlan_ESSENTIALS,
	}
	if st.Auth.ThreatProtection {
		// Threat protection (compromised credentials, risky sign-ins)
		// blocks rather than only reports; it needs the Plus plan.
		props.FeaturePlan = awscognito.FeaturePlan_PLUS
		props.StandardThreatProtectionMode = awscognito.StandardThreatProtectionMode_FULL_FUNCTION
	}
	if a := st.Auth; a.SESFromAddress != "" {
		ses := &awscognito.UserPoolSESOptions{FromEmail: jsii.String(a.SESFromAddress), FromName: jsii.String("Clientele")}
		if a.SESRegion != "" {
			ses.SesRegion = jsii.String(a.SESRegion)
		}
		props.Email = awscognito.UserPoolEmail_WithSES(ses)
	}
	pool := awscognito.NewUserPool(scope, jsii.String("UserPool"), props)
	if !st.Auth.ThreatProtection {
		suppress(pool, "AwsSolutions-COG3",
			"Threat protection is a stage setting (auth.threatProtection) because it needs Cognito's Plus plan, billed per active user; this stage's file turns it off. MFA is required regardless")
	}

	domain := pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(st.Auth.DomainPrefix)},
		// The classic hosted UI works without a branding resource; the
		// newer managed login shows an error page until one is made.
		ManagedLoginVersion: awscognito.ManagedLoginVersion_CLASSIC_HOSTED_UI,
	})

	u := users{pool: pool, domain: domain}
	u.web = appClient(pool, "WebClient", append(slices.Clone(st.Auth.WebCallbackURLs), consoleURL), append(slices.Clone(st.Auth.WebLogoutURLs), consoleURL))
	u.mobile = appClient(pool, "MobileClient", st.Auth.MobileCallbackURLs, st.Auth.MobileCallbackURLs)

	u.machines = machineClients(pool, st)

	for _, role := range crm.Roles {
		awscognito.NewCfnUserPoolGroup(scope, jsii.String("Group"+exportedName(string(role))), &awscognito.CfnUserPoolGroupProps{
			UserPoolId:  pool.UserPoolId(),
			GroupName:   jsii.String(string(role)),
			Description: jsii.String("Clientele role " + string(role)),
		})
	}
	return u
}

// appClient returns a public app client that signs in through the hosted
// pages with the authorization code grant; the apps use PKCE, which is the
// protection a public client has, since a secret cannot be kept in a
// browser or a mobile app. No password flow is enabled, so MFA and threat
// protection cannot be bypassed by an app that collects passwords itself.
func appClient(pool awscognito.UserPool, id string, callbacks, logouts []string) awscognito.UserPoolClient {
	return pool.AddClient(jsii.String(id), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(false),
		AuthFlows:      &awscognito.AuthFlow{},
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: jsii.Strings(callbacks...),
			LogoutUrls:   jsii.Strings(logouts...),
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	})
}

// machineClients adds the resource server "clientele" with the scopes of
// crm.Scopes, and one confidential client-credentials app client per
// integration the stage lists, allowed only its own scopes. Its tokens
// reach every route past the authorizer; the function admits them only
// where the route table gives a route one of their scopes (HTTP API route
// scopes would bind staff too, whose ID tokens carry none).
func machineClients(pool awscognito.UserPool, st *Stage) []awscognito.UserPoolClient {
	scopes := map[string]awscognito.ResourceServerScope{}
	var list []awscognito.ResourceServerScope
	for _, sc := range crm.Scopes {
		name := strings.TrimPrefix(sc, resourceServerID+"/")
		s := awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
			ScopeName: jsii.String(name), ScopeDescription: jsii.String(scopeDescriptions[sc]),
		})
		scopes[sc] = s
		list = append(list, s)
	}
	server := pool.AddResourceServer(jsii.String("ResourceServer"), &awscognito.UserPoolResourceServerOptions{
		Identifier:                 jsii.String(resourceServerID),
		UserPoolResourceServerName: jsii.String("clientele-" + st.Name),
		Scopes:                     &list,
	})
	var out []awscognito.UserPoolClient
	for _, m := range st.Auth.MachineClients {
		var allowed []awscognito.OAuthScope
		for _, sc := range m.Scopes {
			allowed = append(allowed, awscognito.OAuthScope_ResourceServer(server, scopes[sc]))
		}
		out = append(out, pool.AddClient(jsii.String("MachineClient"+exportedName(m.Name)), &awscognito.UserPoolClientOptions{
			UserPoolClientName: jsii.String("clientele-" + st.Name + "-" + m.Name),
			// A confidential client: the integration keeps the secret on
			// its server and trades it for an access token.
			GenerateSecret: jsii.Bool(true),
			AuthFlows:      &awscognito.AuthFlow{},
			OAuth: &awscognito.OAuthSettings{
				Flows:  &awscognito.OAuthFlows{ClientCredentials: jsii.Bool(true)},
				Scopes: &allowed,
			},
			SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
			EnableTokenRevocation:      jsii.Bool(true),
			AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		}))
	}
	return out
}

// resourceServerID prefixes every scope of the API.
const resourceServerID = "clientele"

var scopeDescriptions = map[string]string{
	crm.ScopeCustomersRead:   "Read customers, fields as the service role sees them",
	crm.ScopeBillingRead:     "Read customers with billing, as the finance role sees them",
	crm.ScopeComplaintsWrite: "File complaints, naming the customer by id or contact",
	crm.ScopeComplaintsRead:  "Read the complaints this client filed",
}

package infra

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/console"
)

// DefaultConsoleDir is where the console's files are, relative to the
// repository root: the same files the local runtime embeds.
const DefaultConsoleDir = "internal/console/web"

// consoleSite is the staff console and the customer's self-service page on
// AWS: a private bucket that only the distribution may read (origin access
// control), and the distribution, which sends the same headers as the local
// runtime (console.SecurityHeaders).
type consoleSite struct {
	bucket awss3.Bucket
	dist   awscloudfront.Distribution
}

// origin is the console's browser origin, https://<distribution domain>:
// the API's CORS origin, and with "/" the sign-in's callback and sign-out
// address (the console's redirect_uri is location.origin + "/").
func (c consoleSite) origin() string { return "https://" + *c.dist.DistributionDomainName() }

// cognitoHost is the hosted sign-in's host name in region, as the console
// reads it from config.json ("domain").
func cognitoHost(prefix, region string) string {
	return prefix + ".auth." + region + ".amazoncognito.com"
}

// consoleConnect returns the origins the console's pages call besides their
// own: the API and the hosted sign-in's token endpoint.
//
// The API is named by its custom domain when the stage has one. Without
// one, its execute-api host is only known once the API exists, and the API
// cannot exist first: its CORS origins name this distribution, whose
// headers policy holds this list. The policy then allows the region's
// execute-api hosts; a stage that wants the API's host exactly gives it
// api.domainName.
func consoleConnect(st *Stage, region string) []string {
	api := "https://*.execute-api." + region + ".amazonaws.com"
	if st.API.DomainName != "" {
		api = "https://" + st.API.DomainName
	}
	return []string{api, "https://" + cognitoHost(st.Auth.DomainPrefix, region)}
}

// newConsoleSite returns the bucket and distribution of the console, with
// their access logs. The files are deployed by deployConsole, once the API
// and the app client it names in config.json exist.
func newConsoleSite(scope constructs.Construct, st *Stage) consoleSite {
	region := *awscdk.Stack_Of(scope).Region()

	// One bucket for both logs: the distribution's standard logs
	// (viewer requests) and the content bucket's server access logs (who
	// read or changed the files). Standard logs are delivered with an ACL,
	// so this bucket, unlike the content bucket, allows them. The lifecycle
	// rule keeps them as long as the stage keeps function logs.
	logs := awss3.NewBucket(scope, jsii.String("ConsoleLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration: awscdk.Duration_Days(jsii.Number(float64(st.LogRetentionDays))),
		}},
		RemovalPolicy:     removalPolicy(st),
		AutoDeleteObjects: jsii.Bool(!st.Retain),
	})
	suppress(logs, "AwsSolutions-S1",
		"This is the access-log bucket of the console's bucket and distribution; logging it into itself would log every log delivery")

	// The files are public by nature (no personal data; the pages fetch
	// everything else from the API with a token) and rebuilt by every
	// deploy, so S3's own encryption suffices and the bucket goes with the
	// stack: the deployment empties it first.
	bucket := awss3.NewBucket(scope, jsii.String("ConsoleBucket"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("bucket/"),
		RemovalPolicy:          awscdk.RemovalPolicy_DESTROY,
	})

	pages, _ := json.Marshal(console.Pages()) // a map of strings always marshals
	rewrite := awscloudfront.NewFunction(scope, jsii.String("ConsolePages"), &awscloudfront.FunctionProps{
		Comment: jsii.String("Clientele " + st.Name + " console: serve each page's file at its address"),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(pageRewrite(string(pages)))),
	})

	dist := awscloudfront.NewDistribution(scope, jsii.String("Console"), &awscloudfront.DistributionProps{
		Comment:           jsii.String("Clientele " + st.Name + " console and self-service page"),
		DefaultRootObject: jsii.String("index.html"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:               awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			// The files carry Cache-Control: no-cache, so browsers
			// revalidate by ETag; the deployment invalidates the edge.
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: newConsoleHeaders(scope, st, region),
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				Function: rewrite, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}},
		},
		EnableLogging: jsii.Bool(true),
		LogBucket:     logs,
		LogFilePrefix: jsii.String("cloudfront/"),
		PriceClass:    awscloudfront.PriceClass_PRICE_CLASS_100,
		HttpVersion:   awscloudfront.HttpVersion_HTTP2_AND_3,
	})
	suppress(dist, "AwsSolutions-CFR1",
		"Staff sign in from wherever they work, and customers open self-service links from anywhere; the pages hold no data, which the API serves only with a token")
	suppress(dist, "AwsSolutions-CFR2",
		"Static files only: every request for data goes to the API, which authorizes it and is throttled per route; the public edge stack (stage edge) carries the web ACL for the API's public paths")
	suppress(dist, "AwsSolutions-CFR4",
		"The console is served on the distribution's own cloudfront.net name, whose default certificate CloudFront does not let a distribution restrict to TLS 1.2")
	return consoleSite{bucket: bucket, dist: dist}
}

// pageRewrite is the viewer-request function that answers a page's address
// (console.Pages: "/self-service") with its file ("/self-service.html"),
// as the local runtime does; pages is that map as a JSON object.
func pageRewrite(pages string) string {
	return "var pages = " + pages + ";\n" +
		"function handler(event) {\n" +
		"  var request = event.request;\n" +
		"  var file = pages[request.uri];\n" +
		"  if (file) request.uri = file;\n" +
		"  return request;\n" +
		"}\n"
}

// referrerPolicies are the Referrer-Policy values a response headers
// policy can set, by header value.
var referrerPolicies = map[string]awscloudfront.HeadersReferrerPolicy{
	"no-referrer":                     awscloudfront.HeadersReferrerPolicy_NO_REFERRER,
	"no-referrer-when-downgrade":      awscloudfront.HeadersReferrerPolicy_NO_REFERRER_WHEN_DOWNGRADE,
	"origin":                          awscloudfront.HeadersReferrerPolicy_ORIGIN,
	"origin-when-cross-origin":        awscloudfront.HeadersReferrerPolicy_ORIGIN_WHEN_CROSS_ORIGIN,
	"same-origin":                     awscloudfront.HeadersReferrerPolicy_SAME_ORIGIN,
	"strict-origin":                   awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN,
	"strict-origin-when-cross-origin": awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
	"unsafe-url":                      awscloudfront.HeadersReferrerPolicy_UNSAFE_URL,
}

// consoleHeaders returns the headers the distribution adds to every
// response: exactly those console.SecurityHeaders sets, with a CSP that
// also lets the pages call the API and the hosted sign-in.
func consoleHeaders(st *Stage, region string) http.Header {
	h := http.Header{}
	console.SecurityHeaders(h, console.CSP(consoleConnect(st, region)...))
	return h
}

// newConsoleHeaders returns the response headers policy of consoleHeaders,
// plus HSTS, which only HTTPS can carry. CloudFront sets the headers it
// knows (CSP, Referrer-Policy, X-Content-Type-Options, X-Frame-Options)
// through their own settings and refuses them as custom headers, so each
// goes where CloudFront takes it; a value CloudFront cannot express fails
// the synth rather than being dropped.
func newConsoleHeaders(scope constructs.Construct, st *Stage, region string) awscloudfront.ResponseHeadersPolicy {
	h := consoleHeaders(st, region)
	sec := &awscloudfront.ResponseSecurityHeadersBehavior{
		StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
			AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(365)),
			Override:            jsii.Bool(true),
		},
	}
	var custom []*awscloudfront.ResponseCustomHeader
	for _, name := range slices.Sorted(maps.Keys(h)) {
		v := h.Get(name)
		switch name {
		case "Content-Security-Policy":
			sec.ContentSecurityPolicy = &awscloudfront.ResponseHeadersContentSecurityPolicy{ContentSecurityPolicy: jsii.String(v), Override: jsii.Bool(true)}
		case "Referrer-Policy":
			p, ok := referrerPolicies[v]
			if !ok {
				panic(fmt.Sprintf("console: Referrer-Policy %q cannot be set by CloudFront", v))
			}
			sec.ReferrerPolicy = &awscloudfront.ResponseHeadersReferrerPolicy{ReferrerPolicy: p, Override: jsii.Bool(true)}
		case "X-Content-Type-Options":
			if v != "nosniff" {
				panic(fmt.Sprintf("console: X-Content-Type-Options %q cannot be set by CloudFront", v))
			}
			sec.ContentTypeOptions = &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)}
		case "X-Frame-Options":
			opt := map[string]awscloudfront.HeadersFrameOption{"DENY": awscloudfront.HeadersFrameOption_DENY, "SAMEORIGIN": awscloudfront.HeadersFrameOption_SAMEORIGIN}[v]
			if opt == "" {
				panic(fmt.Sprintf("console: X-Frame-Options %q cannot be set by CloudFront", v))
			}
			sec.FrameOptions = &awscloudfront.ResponseHeadersFrameOptions{FrameOption: opt, Override: jsii.Bool(true)}
		default:
			custom = append(custom, &awscloudfront.ResponseCustomHeader{Header: jsii.String(name), Value: jsii.String(v), Override: jsii.Bool(true)})
		}
	}
	props := &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: jsii.String("clientele-" + st.Name + "-console"),
		Comment:                   jsii.String("Clientele " + st.Name + " console: the local runtime's headers"),
		SecurityHeadersBehavior:   sec,
	}
	if len(custom) > 0 {
		props.CustomHeadersBehavior = &awscloudfront.ResponseCustomHeadersBehavior{CustomHeaders: &custom}
	}
	return awscloudfront.NewResponseHeadersPolicy(scope, jsii.String("ConsoleHeaders"), props)
}

// consoleExcludes returns, relative to dir, the files of dir that
// console.Deployable leaves out of the AWS build.
func consoleExcludes(dir string) ([]string, error) {
	var out []string
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !console.Deployable(p) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// consoleConfig is the console's config.json on AWS: the keys
// internal/console/web/js/auth.js and api.js read ("mode" chooses the
// Cognito sign-in), and the user pool beside its client.
func consoleConfig(apiURL, userPoolID, clientID, domain *string) map[string]any {
	return map[string]any{
		"mode":       "cognito",
		"apiUrl":     apiURL,
		"userPoolId": userPoolID,
		"clientId":   clientID,
		"domain":     domain,
	}
}

// deployConsole copies the console's files from dir, but the local
// sign-in, into the site's bucket with a config.json naming apiURL and the
// web client, and invalidates the distribution's cache. The files revalidate
// (Cache-Control: no-cache), as the local runtime serves them, so a deploy
// reaches users at their next page load.
func deployConsole(scope constructs.Construct, st *Stage, site consoleSite, dir string, apiURL *string, u users, opsKey awskms.IKey) awss3deployment.BucketDeployment {
	excludes, err := consoleExcludes(dir)
	if err != nil {
		panic(fmt.Sprintf("console files %s: %v", dir, err)) // StackProps.Validate checked the directory
	}
	region := *awscdk.Stack_Of(scope).Region()
	domain := jsii.String(cognitoHost(*u.domain.DomainName(), region))
	logs := awslogs.NewLogGroup(scope, jsii.String("ConsoleDeploymentLogs"), &awslogs.LogGroupProps{
		Retention:     st.logRetention(),
		RemovalPolicy: removalPolicy(st),
		EncryptionKey: opsKey,
	})
	dep := awss3deployment.NewBucketDeployment(scope, jsii.String("ConsoleDeployment"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: site.bucket,
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(dir), &awss3assets.AssetOptions{Exclude: jsii.Strings(excludes...)}),
			awss3deployment.Source_JsonData(jsii.String("config.json"),
				consoleConfig(apiURL, u.pool.UserPoolId(), u.web.UserPoolClientId(), domain), nil),
		},
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_NoCache()},
		Distribution:      site.dist,
		DistributionPaths: jsii.Strings("/*"),
		Prune:             jsii.Bool(true),
		RetainOnDelete:    jsii.Bool(false),
		LogGroup:          logs,
		MemoryLimit:       jsii.Number(256),
	})
	// The CDK's deployment function is one per stack and memory size; it
	// runs only while CloudFormation deploys, and its grants are the CDK's.
	role := dep.HandlerRole()
	suppress(role, "AwsSolutions-IAM4",
		"The CDK's bucket-deployment function, which runs only during a deploy, writes its own log group with the basic execution role the CDK attaches",
		"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
	suppress(role, "AwsSolutions-IAM5",
		"The CDK's bucket-deployment grants: read the staged files from the CDK bootstrap asset bucket, write and prune the objects of the console's own bucket; CloudFront invalidations have no resource-level permissions",
		"Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*", "Action::s3:DeleteObject*",
		"Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
		"Resource::<"+*awscdk.Stack_Of(scope).GetLogicalId(site.bucket.Node().DefaultChild().(awscdk.CfnElement))+".Arn>/*", "Resource::*")
	return dep
}

// consoleDirOK reports whether dir holds the console's files.
func consoleDirOK(dir string) error {
	if dir == "" {
		return fmt.Errorf("stack props: no ConsoleDir (the console's files, %s in the repository)", DefaultConsoleDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return fmt.Errorf("console: %w (run from the repository root, or set ConsoleDir to %s)", err, DefaultConsoleDir)
	}
	return nil
}

package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// EdgeRegion is where AWS WAF web ACLs for CloudFront, and so the edge
// stack, must live.
const EdgeRegion = "us-east-1"

// EdgeStackName is the CloudFormation stack of stage name's edge.
func EdgeStackName(stage string) string { return "ClienteleEdge-" + stage }

// publicPaths are the API's public paths that the edge fronts: their
// tokens are credentials, and anyone on the internet can call them.
var publicPaths = []string{"/portal/*", "/surveys/*"}

// NewEdgeStack returns the stage's edge, which HTTP APIs lack (they take no
// AWS WAF): a CloudFront distribution on st.Edge.DomainName in front of the
// API's custom domain, with a web ACL of a per-IP rate limit and AWS's
// managed rule groups. It is its own stack because a web ACL for CloudFront
// must be made in us-east-1, wherever the API is; nothing in it refers to
// the API stack but the API's domain name, so neither stack needs the
// other's outputs.
//
// The portal and survey paths carry bearer tokens, so nothing that fronts
// them logs the path: the web ACL's log redacts the URI path (and the
// Authorization header), and the distribution keeps no access log, whose
// format always has the URI.
func NewEdgeStack(scope constructs.Construct, st *Stage, props awscdk.StackProps) awscdk.Stack {
	if props.StackName == nil {
		props.StackName = jsii.String(EdgeStackName(st.Name))
	}
	env := awscdk.Environment{Region: jsii.String(EdgeRegion)}
	if st.Account != "" {
		env.Account = jsii.String(st.Account)
	}
	props.Env = &env
	stack := awscdk.NewStack(scope, props.StackName, &props)
	tags := awscdk.Tags_Of(stack)
	tags.Add(jsii.String("Application"), jsii.String("Clientele"), nil)
	tags.Add(jsii.String("Stage"), jsii.String(st.Name), nil)

	acl := newWebACL(stack, st)
	opsKey := newOperationsKey(stack, st)
	// WAF requires the name's prefix, and the group's ARN without the
	// ":*" the CDK appends.
	name := "aws-waf-logs-clientele-" + st.Name
	logs := awslogs.NewLogGroup(stack, jsii.String("WebAclLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(name),
		Retention:     st.logRetention(),
		RemovalPolicy: removalPolicy(st),
		EncryptionKey: opsKey,
	})
	logging := awswafv2.NewCfnLoggingConfiguration(stack, jsii.String("WebAclLogging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn: acl.AttrArn(),
		LogDestinationConfigs: jsii.Strings(*awscdk.Stack_Of(stack).FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: jsii.String(name),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})),
		RedactedFields: &[]any{
			&awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{UriPath: map[string]any{}},
			&awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{SingleHeader: map[string]any{"Name": "authorization"}},
		},
	})
	logging.Node().AddDependency(logs)

	origin := awscloudfrontorigins.NewHttpOrigin(jsii.String(st.API.DomainName), &awscloudfrontorigins.HttpOriginProps{
		ProtocolPolicy:     awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
		OriginSslProtocols: &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
	})
	// Nothing is cached: every response is personal or a write. The
	// viewer's headers (the token, Content-Type, If-Match) reach the API,
	// but not its Host, which must be the API's own domain.
	behavior := func() *awscloudfront.BehaviorOptions {
		return &awscloudfront.BehaviorOptions{
			Origin:               origin,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:  awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
		}
	}
	additional := map[string]*awscloudfront.BehaviorOptions{}
	for _, p := range publicPaths {
		additional[p] = behavior()
	}
	dist := awscloudfront.NewDistribution(stack, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		Comment:                jsii.String("Clientele " + st.Name + " public paths"),
		DefaultBehavior:        behavior(),
		AdditionalBehaviors:    &additional,
		DomainNames:            jsii.Strings(st.Edge.DomainName),
		Certificate:            awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Certificate"), jsii.String(st.Edge.CertificateArn)),
		MinimumProtocolVersion: awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021,
		WebAclId:               acl.AttrArn(),
		EnableLogging:          jsii.Bool(false),
		PriceClass:             awscloudfront.PriceClass_PRICE_CLASS_100,
	})
	suppress(dist, "AwsSolutions-CFR3",
		"No access log: CloudFront's log always records the URI, and /portal/{token} and /surveys/{token} carry bearer tokens in it; the web ACL's log, with the URI path redacted, is the request log")
	suppress(dist, "AwsSolutions-CFR1",
		"Customers using the self-service links may be anywhere; the web ACL's rate limit and AWS's IP reputation list stand in for geography")

	awscdk.NewCfnOutput(stack, jsii.String("DistributionDomain"), &awscdk.CfnOutputProps{
		Value:       dist.DistributionDomainName(),
		Description: jsii.String("Point " + st.Edge.DomainName + " here (CNAME or alias)"),
		ExportName:  jsii.String(EdgeStackName(st.Name) + "-DistributionDomain"),
	})
	return stack
}

// newWebACL returns the edge's web ACL: per client IP at most
// st.Edge.RateLimit requests in five minutes, then AWS's managed rules for
// common exploits, known bad inputs and IPs with a bad reputation.
func newWebACL(scope constructs.Construct, st *Stage) awswafv2.CfnWebACL {
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String("clientele-" + st.Name + "-" + name),
			SampledRequestsEnabled:   jsii.Bool(false), // samples would hold the tokens
		}
	}
	managed := func(priority float64, name string) *awswafv2.CfnWebACL_RuleProperty {
		return &awswafv2.CfnWebACL_RuleProperty{
			Name:           jsii.String(name),
			Priority:       jsii.Number(priority),
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
					VendorName: jsii.String("AWS"), Name: jsii.String(name),
				},
			},
			VisibilityConfig: visibility(name),
		}
	}
	return awswafv2.NewCfnWebACL(scope, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Name:          jsii.String("clientele-" + st.Name),
		Scope:         jsii.String("CLOUDFRONT"),
		DefaultAction: &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		Rules: &[]any{
			&awswafv2.CfnWebACL_RuleProperty{
				Name:     jsii.String("RatePerIP"),
				Priority: jsii.Number(0),
				Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]any{}},
				Statement: &awswafv2.CfnWebACL_StatementProperty{
					RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
						Limit:            jsii.Number(st.Edge.RateLimit),
						AggregateKeyType: jsii.String("IP"),
					},
				},
				VisibilityConfig: visibility("rate"),
			},
			managed(1, "AWSManagedRulesAmazonIpReputationList"),
			managed(2, "AWSManagedRulesCommonRuleSet"),
			managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
		},
		VisibilityConfig: visibility("acl"),
	})
}

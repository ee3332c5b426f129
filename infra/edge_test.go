package infra

import (
	"reflect"
	"strings"
	"testing"
)

// TestEdge proves that the prod stage's edge puts CloudFront and AWS WAF in
// front of the public paths, in us-east-1, and that neither logs the paths
// that carry tokens.
func TestEdge(t *testing.T) {
	s := stageTemplate(t, "prod/edge")
	e := s.stage.Edge
	if e == nil {
		t.Fatal("the prod stage has no edge")
	}
	if got := *s.stack.Region(); got != EdgeRegion {
		t.Errorf("edge stack in %s, want %s (web ACLs for CloudFront live there)", got, EdgeRegion)
	}
	aclID, acl := s.only(t, "AWS::WAFv2::WebACL")
	_, dist := s.only(t, "AWS::CloudFront::Distribution")
	cfg, _ := dist["DistributionConfig"].(map[string]any)

	t.Run("WebACLOnTheDistribution", func(t *testing.T) {
		if acl["Scope"] != "CLOUDFRONT" {
			t.Errorf("Scope = %v", acl["Scope"])
		}
		if !reflect.DeepEqual(cfg["WebACLId"], getAtt(aclID, "Arn")) {
			t.Errorf("WebACLId = %v, want the web ACL", cfg["WebACLId"])
		}
	})

	t.Run("RateLimitAndManagedRules", func(t *testing.T) {
		rules := jsonString(acl["Rules"])
		for _, want := range []string{
			`"RateBasedStatement":{"AggregateKeyType":"IP","Limit":` + itoa(e.RateLimit) + `}`,
			`"AWSManagedRulesCommonRuleSet"`, `"AWSManagedRulesKnownBadInputsRuleSet"`, `"AWSManagedRulesAmazonIpReputationList"`,
		} {
			if !strings.Contains(rules, want) {
				t.Errorf("rules have no %s: %s", want, rules)
			}
		}
		if strings.Contains(rules, `"SampledRequestsEnabled":true`) {
			t.Error("WAF keeps sampled requests, paths and tokens included")
		}
	})

	t.Run("WAFLogRedactsThePath", func(t *testing.T) {
		_, logging := s.only(t, "AWS::WAFv2::LoggingConfiguration")
		if !mentions(logging["ResourceArn"], aclID) {
			t.Errorf("ResourceArn = %v", logging["ResourceArn"])
		}
		redacted := jsonString(logging["RedactedFields"])
		if !strings.Contains(redacted, `{"UriPath":{}}`) || !strings.Contains(redacted, `"authorization"`) {
			t.Errorf("RedactedFields = %s, want the URI path and the Authorization header", redacted)
		}
		dest := jsonString(logging["LogDestinationConfigs"])
		if !strings.Contains(dest, "log-group:aws-waf-logs-clientele-"+s.stage.Name) || strings.Contains(dest, ":*") {
			t.Errorf("LogDestinationConfigs = %s, want the stage's aws-waf-logs- group's ARN", dest)
		}
		_, group := s.only(t, "AWS::Logs::LogGroup")
		if group["KmsKeyId"] == nil {
			t.Error("the WAF log group, which holds client IPs, is not KMS-encrypted")
		}
	})

	t.Run("NoAccessLogWithURIs", func(t *testing.T) {
		if cfg["Logging"] != nil {
			t.Errorf("Logging = %v: CloudFront's log records the URI with its token", cfg["Logging"])
		}
	})

	t.Run("PublicPathsToTheAPIUncached", func(t *testing.T) {
		origins := jsonString(cfg["Origins"])
		if !strings.Contains(origins, `"DomainName":"`+s.stage.API.DomainName+`"`) || !strings.Contains(origins, `"OriginProtocolPolicy":"https-only"`) {
			t.Errorf("Origins = %s, want the API's domain over HTTPS", origins)
		}
		got := map[string]bool{}
		for _, b := range list(cfg["CacheBehaviors"]) {
			b, _ := b.(map[string]any)
			got[b["PathPattern"].(string)] = true
			if b["CachePolicyId"] != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" { // Managed-CachingDisabled
				t.Errorf("%v: CachePolicyId %v, want caching disabled", b["PathPattern"], b["CachePolicyId"])
			}
			if b["ViewerProtocolPolicy"] != "https-only" {
				t.Errorf("%v: ViewerProtocolPolicy %v", b["PathPattern"], b["ViewerProtocolPolicy"])
			}
		}
		for _, p := range []string{"/portal/*", "/surveys/*"} {
			if !got[p] {
				t.Errorf("no behavior for %s", p)
			}
		}
		viewer, _ := cfg["ViewerCertificate"].(map[string]any)
		if viewer["MinimumProtocolVersion"] != "TLSv1.2_2021" || viewer["AcmCertificateArn"] != e.CertificateArn {
			t.Errorf("ViewerCertificate = %v", viewer)
		}
		if !reflect.DeepEqual(cfg["Aliases"], []any{e.DomainName}) {
			t.Errorf("Aliases = %v, want %s", cfg["Aliases"], e.DomainName)
		}
	})
}

func itoa(n int) string { return strings.TrimSpace(jsonString(n)) }

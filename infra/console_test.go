package infra

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/clientele-crm/clientele/internal/console"
)

// consoleOrigin is the template form of the console's origin,
// https://<distribution domain>.
func (s *synthesized) consoleOrigin(t *testing.T) any {
	t.Helper()
	return map[string]any{"Fn::Join": []any{"", []any{"https://", getAtt(s.logicalID(t, "Console"), "DomainName")}}}
}

// consoleURL is the template form of the console's address, its origin and
// "/", which is its sign-in callback and sign-out URL.
func (s *synthesized) consoleURL(t *testing.T) any {
	t.Helper()
	return map[string]any{"Fn::Join": []any{"", []any{"https://", getAtt(s.logicalID(t, "Console"), "DomainName"), "/"}}}
}

// flatten renders a template string value, reading the stack's region as
// region; anything else unresolved is marked, so a comparison fails.
func flatten(v any, region string) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if v["Ref"] == "AWS::Region" {
			return region
		}
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 && j[0] == "" {
			var b strings.Builder
			for _, p := range j[1].([]any) {
				b.WriteString(flatten(p, region))
			}
			return b.String()
		}
	}
	return fmt.Sprintf("<unresolved %v>", v)
}

func TestConsoleBucketIsPrivate(t *testing.T) {
	for _, stage := range testStages {
		s := stageTemplate(t, stage)
		t.Run(stage, func(t *testing.T) {
			id := s.logicalID(t, "ConsoleBucket")
			b := s.resources[id]["Properties"].(map[string]any)
			want := map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}
			if !reflect.DeepEqual(b["PublicAccessBlockConfiguration"], want) {
				t.Errorf("public access block %v, want all four on", b["PublicAccessBlockConfiguration"])
			}
			if b["BucketEncryption"] == nil || b["WebsiteConfiguration"] != nil || b["AccessControl"] != nil {
				t.Errorf("bucket %v: want encryption, no website hosting, no ACL", b)
			}
			if logs, _ := b["LoggingConfiguration"].(map[string]any); !reflect.DeepEqual(logs["DestinationBucketName"], ref(s.logicalID(t, "ConsoleLogs"))) {
				t.Errorf("server access logs go to %v, want the console's log bucket", logs)
			}
			if n := len(s.ofType("AWS::CloudFront::CloudFrontOriginAccessIdentity")); n != 0 {
				t.Errorf("%d origin access identities: the console uses origin access control", n)
			}
			// Its policy: TLS only, and reads by this distribution only.
			dist := s.logicalID(t, "Console")
			var sslDeny, cloudfrontRead bool
			for _, p := range s.ofType("AWS::S3::BucketPolicy") {
				if !reflect.DeepEqual(p["Bucket"], ref(id)) {
					continue
				}
				for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					st := st.(map[string]any)
					cond, _ := json.Marshal(st["Condition"])
					switch {
					case st["Effect"] == "Deny" && strings.Contains(string(cond), `"aws:SecureTransport":"false"`):
						sslDeny = true
					case st["Effect"] == "Allow":
						if !reflect.DeepEqual(st["Principal"], map[string]any{"Service": "cloudfront.amazonaws.com"}) || st["Action"] != "s3:GetObject" ||
							!strings.Contains(string(cond), `"AWS:SourceArn"`) || !strings.Contains(string(cond), `{"Ref":"`+dist+`"}`) {
							t.Errorf("the bucket policy allows %v", st)
						}
						cloudfrontRead = true
					}
				}
			}
			if !sslDeny || !cloudfrontRead {
				t.Errorf("bucket policy: TLS enforced %v, read by the distribution %v; want both", sslDeny, cloudfrontRead)
			}
			_, oac := s.only(t, "AWS::CloudFront::OriginAccessControl")
			if c := oac["OriginAccessControlConfig"].(map[string]any); c["SigningBehavior"] != "always" || c["OriginAccessControlOriginType"] != "s3" {
				t.Errorf("origin access control %v", c)
			}
		})
	}
}

func TestConsoleDistribution(t *testing.T) {
	s := stackTemplate(t)
	d := s.resources[s.logicalID(t, "Console")]["Properties"].(map[string]any)["DistributionConfig"].(map[string]any)
	b := d["DefaultCacheBehavior"].(map[string]any)
	if d["DefaultRootObject"] != "index.html" || b["ViewerProtocolPolicy"] != "redirect-to-https" {
		t.Errorf("root object %v, viewer protocol %v; want index.html over HTTPS only", d["DefaultRootObject"], b["ViewerProtocolPolicy"])
	}
	if !reflect.DeepEqual(b["AllowedMethods"], []any{"GET", "HEAD"}) {
		t.Errorf("methods %v, want GET and HEAD", b["AllowedMethods"])
	}
	origins := d["Origins"].([]any)
	if o := origins[0].(map[string]any); len(origins) != 1 || o["OriginAccessControlId"] == nil ||
		!reflect.DeepEqual(o["DomainName"], getAtt(s.logicalID(t, "ConsoleBucket"), "RegionalDomainName")) {
		t.Errorf("origins %v, want the console bucket with origin access control", origins)
	}
	if logs, _ := d["Logging"].(map[string]any); !reflect.DeepEqual(logs["Bucket"], getAtt(s.logicalID(t, "ConsoleLogs"), "RegionalDomainName")) {
		t.Errorf("standard logs %v, want the console's log bucket", logs)
	}
	if !reflect.DeepEqual(b["ResponseHeadersPolicyId"], ref(s.logicalID(t, "ConsoleHeaders"))) {
		t.Errorf("response headers policy %v", b["ResponseHeadersPolicyId"])
	}

	t.Run("SelfServicePage", func(t *testing.T) {
		fns, _ := b["FunctionAssociations"].([]any)
		fn := s.logicalID(t, "ConsolePages")
		if len(fns) != 1 || !reflect.DeepEqual(fns[0], map[string]any{"EventType": "viewer-request", "FunctionARN": getAtt(fn, "FunctionARN")}) {
			t.Fatalf("function associations %v", fns)
		}
		code := s.resources[fn]["Properties"].(map[string]any)["FunctionCode"].(string)
		node, err := exec.LookPath("node") // synthesis runs on Node too
		if err != nil {
			t.Skip("no node to run the function with")
		}
		uris := []string{"/self-service", "/", "/index.html", "/js/app.js", "/self-service.html", "/self-service/x", "/local/sign-in"}
		in, _ := json.Marshal(uris)
		out, err := exec.Command(node, "-e", code+"\nconsole.log(JSON.stringify("+string(in)+".map((uri) => handler({request: {uri}}).uri)))").Output()
		if err != nil {
			t.Fatalf("run the function: %v", err)
		}
		var got []string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		want := []string{"/self-service.html", "/index.html", "/index.html", "/js/app.js", "/self-service.html", "/self-service/x", "/local/sign-in"}
		if !slices.Equal(got, want) {
			t.Errorf("the function rewrites %v to %v, want %v", uris, got, want)
		}
	})

	t.Run("HeadersAsLocally", func(t *testing.T) {
		_, p := s.only(t, "AWS::CloudFront::ResponseHeadersPolicy")
		cfg := p["ResponseHeadersPolicyConfig"].(map[string]any)
		sec := cfg["SecurityHeadersConfig"].(map[string]any)
		csp := flatten(sec["ContentSecurityPolicy"].(map[string]any)["ContentSecurityPolicy"], "REGION")
		extra := consoleConnect(s.stage, "REGION")
		if want := console.CSP(extra...); csp != want {
			t.Errorf("CSP\n%s\nwant\n%s", csp, want)
		}
		// Locally and on AWS the policy differs in what the page may
		// connect to, and only there.
		if local := strings.Replace(console.CSP(), "connect-src 'self';", "connect-src 'self' "+strings.Join(extra, " ")+";", 1); csp != local {
			t.Errorf("CSP %s is not the local one (%s) with the API and sign-in added", csp, console.CSP())
		}
		if s.stage.API.DomainName == "" || !strings.Contains(csp, " https://"+s.stage.API.DomainName+" ") ||
			!strings.Contains(csp, " https://"+s.stage.Auth.DomainPrefix+".auth.REGION.amazoncognito.com;") {
			t.Errorf("CSP %s: want the API's domain and the hosted sign-in in connect-src", csp)
		}
		h := consoleHeaders(s.stage, "REGION")
		got := map[string]string{
			"Content-Security-Policy": csp,
			"Referrer-Policy":         fmt.Sprint(sec["ReferrerPolicy"].(map[string]any)["ReferrerPolicy"]),
			"X-Frame-Options":         fmt.Sprint(sec["FrameOptions"].(map[string]any)["FrameOption"]),
		}
		if sec["ContentTypeOptions"] != nil {
			got["X-Content-Type-Options"] = "nosniff"
		}
		for _, c := range cfg["CustomHeadersConfig"].(map[string]any)["Items"].([]any) {
			c := c.(map[string]any)
			got[c["Header"].(string)] = c["Value"].(string)
		}
		for name := range h {
			if got[name] != h.Get(name) {
				t.Errorf("%s: %q, the local runtime sends %q", name, got[name], h.Get(name))
			}
		}
		if len(got) != len(h) {
			t.Errorf("headers %v, want exactly the local runtime's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(h)))
		}
		if hsts, _ := sec["StrictTransportSecurity"].(map[string]any); hsts["AccessControlMaxAgeSec"] != float64(365*24*3600) {
			t.Errorf("HSTS %v", hsts)
		}
	})
}

// TestConsoleWithoutAPIDomain: a stage without api.domainName lets the pages
// call its region's execute-api hosts, and config.json names the API's
// own endpoint; without PORTAL_BASE_URL, self-service links open the
// console's page.
func TestConsoleWithoutAPIDomain(t *testing.T) {
	s := stageTemplate(t, "dev")
	if s.stage.API.DomainName != "" {
		t.Skip("the dev stage has an API domain")
	}
	_, p := s.only(t, "AWS::CloudFront::ResponseHeadersPolicy")
	sec := p["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any)
	csp := flatten(sec["ContentSecurityPolicy"].(map[string]any)["ContentSecurityPolicy"], "eu-central-1")
	if !strings.Contains(csp, "connect-src 'self' https://*.execute-api.eu-central-1.amazonaws.com https://"+s.stage.Auth.DomainPrefix+".auth.eu-central-1.amazoncognito.com;") {
		t.Errorf("CSP %s", csp)
	}
	if s.stage.Settings["PORTAL_BASE_URL"] != "" {
		t.Fatal("the dev stage names a portal address")
	}
	link := map[string]any{"Fn::Join": []any{"", []any{"https://", getAtt(s.logicalID(t, "Console"), "DomainName"), "/self-service"}}}
	for name, id := range s.functions {
		vars := s.resources[id]["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if !reflect.DeepEqual(vars["PORTAL_BASE_URL"], link) {
			t.Errorf("function %s: PORTAL_BASE_URL = %v, want the console's self-service page", name, vars["PORTAL_BASE_URL"])
		}
	}
	cfg, markers := deployedConfig(t, s)
	api := getAtt(s.logicalID(t, "HttpApi"), "ApiEndpoint")
	if m := markers[cfg["apiUrl"].(string)]; !strings.Contains(mustJSON(m), mustJSON(api)) {
		t.Errorf("apiUrl is %v, want the API's endpoint", m)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// deployedConfig returns the console deployment's config.json as staged,
// and the deploy-time values its markers stand for.
func deployedConfig(t *testing.T, s *synthesized) (map[string]any, map[string]any) {
	t.Helper()
	_, dep := s.only(t, "Custom::CDKBucketDeployment")
	keys := dep["SourceObjectKeys"].([]any)
	for i, k := range keys {
		dir := stagedAsset(t, s, k.(string))
		raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			continue
		}
		// A marker stands for a JSON value, quotes and all, that the
		// deployment substitutes: read it as a string naming the marker.
		markers, _ := dep["SourceMarkers"].([]any)[i].(map[string]any)
		for m := range markers {
			raw = []byte(strings.ReplaceAll(string(raw), m, strconv.Quote(m)))
		}
		var cfg map[string]any
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("config.json %s: %v", raw, err)
		}
		return cfg, markers
	}
	t.Fatal("no source holds config.json")
	return nil, nil
}

// stagedAsset is the directory the synthesis staged the asset of object
// key ("<hash>.zip") in.
func stagedAsset(t *testing.T, s *synthesized, key string) string {
	t.Helper()
	dir := filepath.Join(*awscdk.Stage_Of(s.stack).AssetOutdir(), "asset."+strings.TrimSuffix(key, ".zip"))
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("asset %s is not staged as a directory: %v", key, err)
	}
	return dir
}

func TestConsoleDeployment(t *testing.T) {
	s := stackTemplate(t)
	_, dep := s.only(t, "Custom::CDKBucketDeployment")
	want := map[string]any{
		"DestinationBucketName": ref(s.logicalID(t, "ConsoleBucket")),
		"DistributionId":        ref(s.logicalID(t, "Console")),
		"DistributionPaths":     []any{"/*"},
		"Prune":                 true,
		"RetainOnDelete":        false,
		"SystemMetadata":        map[string]any{"cache-control": "no-cache"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(dep[k], v) {
			t.Errorf("%s = %v, want %v", k, dep[k], v)
		}
	}

	t.Run("FilesWithoutLocalSignIn", func(t *testing.T) {
		var staged []string
		for _, k := range dep["SourceObjectKeys"].([]any) {
			dir := stagedAsset(t, s, k.(string))
			_ = fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					staged = append(staged, p)
				}
				return err
			})
		}
		slices.Sort(staged)
		want := []string{"config.json"}
		_ = fs.WalkDir(console.Assets(), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && console.Deployable(p) {
				want = append(want, p)
			}
			return err
		})
		slices.Sort(want)
		if !slices.Equal(staged, want) {
			t.Errorf("deployed %v, want %v", staged, want)
		}
		if slices.Contains(staged, "local-sign-in.html") || slices.Contains(staged, "js/localsignin.js") {
			t.Error("the local sign-in is deployed")
		}
		excl, err := consoleExcludes(testConsoleDir)
		if err != nil || !slices.Equal(excl, []string{"js/localsignin.js", "local-sign-in.html"}) {
			t.Errorf("consoleExcludes = %v, %v", excl, err)
		}
	})

	t.Run("ConfigJSON", func(t *testing.T) {
		cfg, markers := deployedConfig(t, s)
		if got := slices.Sorted(maps.Keys(cfg)); !slices.Equal(got, []string{"apiUrl", "clientId", "domain", "mode", "userPoolId"}) {
			t.Errorf("config.json keys %v", got)
		}
		if cfg["mode"] != "cognito" || cfg["apiUrl"] != "https://"+s.stage.API.DomainName {
			t.Errorf("config.json %v: want the Cognito sign-in and the API's domain", cfg)
		}
		quoted := func(v any) any { return map[string]any{"Fn::Join": []any{"", []any{`"`, v, `"`}}} }
		for key, v := range map[string]any{
			"userPoolId": quoted(ref(s.logicalID(t, "UserPool"))),
			"clientId":   quoted(ref(s.logicalID(t, "UserPool/WebClient"))),
		} {
			if m := markers[fmt.Sprint(cfg[key])]; !reflect.DeepEqual(m, v) {
				t.Errorf("%s is %v, want %v", key, m, v)
			}
		}
		domain := quoted(map[string]any{"Fn::Join": []any{"", []any{ref(s.logicalID(t, "UserPool/Domain")), ".auth.", ref("AWS::Region"), ".amazoncognito.com"}}})
		if got := markers[fmt.Sprint(cfg["domain"])]; flatten(got, "R") != flatten(domain, "R") || !strings.Contains(mustJSON(got), mustJSON(ref(s.logicalID(t, "UserPool/Domain")))) {
			t.Errorf("domain is %v, want the hosted sign-in's host", got)
		}
	})

	t.Run("SignInURLs", func(t *testing.T) {
		c := s.resources[s.logicalID(t, "UserPool/WebClient")]["Properties"].(map[string]any)
		for _, k := range []string{"CallbackURLs", "LogoutURLs"} {
			if !slices.ContainsFunc(c[k].([]any), func(u any) bool { return reflect.DeepEqual(u, s.consoleURL(t)) }) {
				t.Errorf("%s %v lack the console's address", k, c[k])
			}
		}
	})

	t.Run("Output", func(t *testing.T) {
		o, _ := s.outputs["ConsoleUrl"].(map[string]any)
		if !reflect.DeepEqual(o["Value"], s.consoleURL(t)) {
			t.Errorf("ConsoleUrl output %v", o)
		}
	})
}

package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/clientele-crm/clientele/internal/api"
)

// Synthesis runs the CDK on Node through jsii and takes seconds, so the test
// binary synthesizes each checked-in stage once, in one app, on first use,
// and every test reads them.
var (
	codeRoot  string // holds <function>/bootstrap for the stack's assets
	synthOnce sync.Once
	synthed   map[string]*synthesized
	synthErr  error
)

// testConsoleDir is the console's files, from the package's directory.
var testConsoleDir = filepath.Join("..", DefaultConsoleDir)

// testStages are the stages the template tests synthesize; the first is
// the one stackTemplate returns.
var testStages = []string{"prod", "dev"}

// synthesized is the stack under test as plain Go values.
type synthesized struct {
	stage *Stage
	// resources maps logical id to resource ({"Type":…, "Properties":…}).
	resources map[string]map[string]any
	outputs   map[string]any
	// functions maps a function name to its Lambda's logical id, aliases
	// to that of its live alias.
	functions, aliases map[string]string
	// mainTable and auditTable are the logical ids of the two tables;
	// notifications that of the notifications topic.
	mainTable, auditTable, notifications string
	template                             assertions.Template
	stack                                awscdk.Stack
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clientele-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	codeRoot = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stackTemplate returns the synthesized prod stack, built from api.Routes():
// the stage with every option on.
func stackTemplate(tb testing.TB) *synthesized { return stageTemplate(tb, "prod") }

// stageTemplate returns the synthesized stack of stages/<name>.json.
func stageTemplate(tb testing.TB, name string) *synthesized {
	tb.Helper()
	synthOnce.Do(func() {
		// One app for every stage, as `cdk` would hold them: the app
		// synthesizes once, so every stack is built before any is read.
		app := newTestApp()
		synthed = map[string]*synthesized{}
		stacks := map[string]awscdk.Stack{}
		for _, n := range testStages {
			var st *Stage
			if st, synthErr = LoadStage(stageFile(n)); synthErr != nil {
				return
			}
			if stacks[n], synthErr = buildStack(app, st, api.Routes()); synthErr != nil {
				return
			}
			if st.Edge != nil {
				stacks[n+"/edge"] = NewEdgeStack(app, st, awscdk.StackProps{})
			}
		}
		// cdk-nag's AwsSolutions pack runs as an aspect when the app
		// synthesizes; its findings are the stacks' annotations.
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		for n, stack := range stacks {
			if synthed[n], synthErr = synthesize(stack, api.Routes()); synthErr != nil {
				return
			}
			synthed[n].stage, _ = LoadStage(stageFile(strings.TrimSuffix(n, "/edge")))
		}
	})
	if synthErr != nil {
		tb.Fatalf("synthesize: %v", synthErr)
	}
	s, ok := synthed[name]
	if !ok {
		tb.Fatalf("stage %s is not synthesized", name)
	}
	return s
}

// newTestApp returns an app with the stack's feature flags.
func newTestApp() awscdk.App {
	flags := FeatureFlags()
	return awscdk.NewApp(&awscdk.AppProps{Context: &flags})
}

// buildStack adds the stack of st to app, with a stand-in bootstrap per
// function.
func buildStack(app awscdk.App, st *Stage, routes []api.Route) (stack awscdk.Stack, err error) {
	// jsii reports CDK errors by panicking.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cdk: %v", r)
		}
	}()
	for _, fn := range Functions(routes) {
		dir := filepath.Join(codeRoot, fn)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			return nil, err
		}
	}
	props := &StackProps{
		Stage:      st,
		Routes:     routes,
		CodeDir:    func(fn string) string { return filepath.Join(codeRoot, fn) },
		ConsoleDir: testConsoleDir,
	}
	if err := props.Validate(); err != nil {
		return nil, err
	}
	return NewStack(app, StackName(st.Name), props), nil
}

// synthesize reads the synthesized stack as plain Go values.
func synthesize(stack awscdk.Stack, routes []api.Route) (s *synthesized, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cdk: %v", r)
		}
	}()
	tmpl := assertions.Template_FromStack(stack, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, err
	}
	var doc struct {
		Resources map[string]map[string]any
		Outputs   map[string]any
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}

	// logicalID returns the logical id of the stack's child construct id.
	logicalID := func(id string) (string, error) {
		c := stack.Node().TryFindChild(jsii.String(id))
		if c == nil {
			return "", fmt.Errorf("no construct %s", id)
		}
		return *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement)), nil
	}
	s = &synthesized{resources: doc.Resources, outputs: doc.Outputs, functions: make(map[string]string), aliases: make(map[string]string), template: tmpl, stack: stack}
	if stack.Node().TryFindChild(jsii.String("Table")) == nil {
		return s, nil // an edge stack
	}
	for _, fn := range Functions(routes) {
		if s.functions[fn], err = logicalID("Fn" + exportedName(fn)); err != nil {
			return nil, err
		}
		if s.aliases[fn], err = logicalID("Fn" + exportedName(fn) + "Live"); err != nil {
			return nil, err
		}
	}
	if s.mainTable, err = logicalID("Table"); err != nil {
		return nil, err
	}
	if s.auditTable, err = logicalID("AuditTable"); err != nil {
		return nil, err
	}
	if s.notifications, err = logicalID("Notifications"); err != nil {
		return nil, err
	}
	return s, nil
}

// logicalID returns the logical id of the resource that the stack's
// descendant construct id (a path such as "UserPool/WebClient") defines,
// failing tb if there is none.
func (s *synthesized) logicalID(tb testing.TB, id string) string {
	tb.Helper()
	var c constructs.IConstruct = s.stack
	for _, part := range strings.Split(id, "/") {
		if c = c.Node().TryFindChild(jsii.String(part)); c == nil {
			tb.Fatalf("no construct %s in the stack", id)
		}
	}
	el, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		tb.Fatalf("construct %s defines no resource", id)
	}
	return *s.stack.GetLogicalId(el)
}

// ofType returns the properties of every resource of type typ, by logical id.
func (s *synthesized) ofType(typ string) map[string]map[string]any {
	out := make(map[string]map[string]any)
	for id, r := range s.resources {
		if r["Type"] == typ {
			props, _ := r["Properties"].(map[string]any)
			out[id] = props
		}
	}
	return out
}

// only returns the logical id and properties of the one resource of type typ.
func (s *synthesized) only(tb testing.TB, typ string) (string, map[string]any) {
	tb.Helper()
	all := s.ofType(typ)
	if len(all) != 1 {
		tb.Fatalf("%d resources of type %s, want 1", len(all), typ)
	}
	for id, props := range all {
		return id, props
	}
	panic("unreachable")
}

// hasProperties checks, with the CDK's own matcher, that some resource of
// type typ has (at least) props.
func (s *synthesized) hasProperties(tb testing.TB, typ string, props map[string]any) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Errorf("%s with %v: %s", typ, props, jsiiMessage(r))
		}
	}()
	s.template.HasResourceProperties(jsii.String(typ), assertions.Match_ObjectLike(&props))
}

// hasPolicy checks, with the CDK's own matcher, that some resource of type
// typ has the deletion and update-replace policy policy.
func (s *synthesized) hasPolicy(tb testing.TB, typ, policy string) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Errorf("%s with policy %s: %s", typ, policy, jsiiMessage(r))
		}
	}()
	s.template.HasResource(jsii.String(typ), map[string]any{
		"DeletionPolicy":      policy,
		"UpdateReplacePolicy": policy,
	})
}

// jsiiMessage returns the message of a panic raised through jsii without the
// JavaScript stack trace that follows it.
func jsiiMessage(r any) string {
	msg := fmt.Sprint(r)
	if i := strings.Index(msg, "\n    at "); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// ref is the template form of a reference to a resource or parameter.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// getAtt is the template form of an attribute of a resource.
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

// indexArn is the template form of the ARN pattern of every index of table
// id, as the CDK writes it.
func indexArn(id string) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{getAtt(id, "Arn"), "/index/*"}}}
}

// statement is one Allow statement of an identity-based policy of the stack.
type statement struct {
	policy    string // logical id of the policy, or of the role it is inline in
	roles     []any  // the roles it is attached to, as template values
	actions   []string
	resources []any
	raw       map[string]any
}

// allowStatements returns every Allow statement of the stack's IAM policies,
// managed policies and roles' inline policies.
func (s *synthesized) allowStatements() []statement {
	var out []statement
	add := func(policy string, roles []any, doc any) {
		doc2, _ := doc.(map[string]any)
		for _, st := range list(doc2["Statement"]) {
			st, _ := st.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			out = append(out, statement{policy, roles, stringList(st["Action"]), list(st["Resource"]), st})
		}
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for id, p := range s.ofType(typ) {
			add(id, list(p["Roles"]), p["PolicyDocument"])
		}
	}
	for id, r := range s.ofType("AWS::IAM::Role") {
		for _, p := range list(r["Policies"]) {
			p, _ := p.(map[string]any)
			add(id, []any{ref(id)}, p["PolicyDocument"])
		}
	}
	return out
}

// mentions reports whether the template value v refers to logical id: a Ref
// or Fn::GetAtt of it anywhere inside v.
func mentions(v any, id string) bool {
	switch v := v.(type) {
	case map[string]any:
		if v["Ref"] == id {
			return true
		}
		if att, ok := v["Fn::GetAtt"].([]any); ok && len(att) > 0 && att[0] == id {
			return true
		}
		for _, x := range v {
			if mentions(x, id) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(v, func(x any) bool { return mentions(x, id) })
	}
	return false
}

// stringList returns the strings of a template value that is a string or a
// list of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// list returns a template value that may be one item or a list as a list.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

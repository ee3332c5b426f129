// Package everything names the process that serves every route and event
// with every edge linked: the local runtime, the CLI and the tests. Each
// Lambda function names its own, smaller app.Function in its main package.
package everything

import (
	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/awschain"
	"github.com/clientele-crm/clientele/internal/disposable"
	"github.com/clientele-crm/clientele/internal/eventbus"
	"github.com/clientele-crm/clientele/internal/importqueue"
	"github.com/clientele-crm/clientele/internal/langtag"
	"github.com/clientele-crm/clientele/internal/notify/snsnotify"
	"github.com/clientele-crm/clientele/internal/phone"
)

// Function serves every route, with every optional edge. It has no Lambda
// entry: the local runtime runs the schedule, the stream and the queues
// itself.
var Function = app.Function{
	ParsePhone:        phone.E164,
	Publisher:         snsnotify.New,
	ImportQueue:       importqueue.New,
	Events:            eventbus.New,
	DisposableDomain:  disposable.Listed,
	CanonicalLanguage: langtag.Canonical,
	Routes:            api.AllRoutes(),
	AWSChain:          awschain.Load,
}

package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Index describes one global secondary index: string partition and sort keys,
// and what it projects. Every write copies the projected attributes of an
// item into each index it appears in, so an index projects what its readers
// read and no more.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
	// KeysOnly projects only the table's and the index's keys; Include
	// projects those and the attributes named. With neither, every
	// attribute is projected.
	KeysOnly bool
	Include  []string
}

// ProjectAll reports whether the index projects every attribute.
func (ix Index) ProjectAll() bool { return !ix.KeysOnly && len(ix.Include) == 0 }

// projection is the DynamoDB form of the index's projection.
func (ix Index) projection() *types.Projection {
	switch {
	case ix.ProjectAll():
		return &types.Projection{ProjectionType: types.ProjectionTypeAll}
	case len(ix.Include) == 0:
		return &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
	}
	return &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ix.Include}
}

// TableDef is the single description of a table's keys and indexes. The CDK
// stack and the local runtime both build their tables from it, so the two can
// never disagree.
type TableDef struct {
	PartitionKey string
	SortKey      string
	Indexes      []Index
	// TTLAttribute names the epoch-seconds attribute DynamoDB expires items by.
	TTLAttribute string
	// Stream says whether the table has a stream of new and old images.
	// Only a table whose changes something consumes has one: each write
	// to a table with a stream also writes a stream record.
	Stream bool
}

// Attribute and index names of the main table.
const (
	attrPK  = "PK"
	attrSK  = "SK"
	attrTTL = "expiresAt"

	// IndexByOwner lists a rep's customers, newest first.
	IndexByOwner = "GSI1"
	// IndexByGroup lists customers of a segment or carrying a tag, newest first.
	IndexByGroup = "GSI2"
	// IndexByKind lists every item of one kind (all customers), newest first.
	IndexByKind = "GSI3"
	// IndexByDue lists items by the instant they fall due: customers'
	// reviews, interactions' follow-ups, open complaints' SLAs.
	IndexByDue = "GSI4"
	// IndexBySubject lists complaints about one customer.
	IndexBySubject = "GSI5"
	// IndexBySeverity lists complaints of one severity.
	IndexBySeverity = "GSI6"
	// IndexByScope lists complaints about one rep's customers.
	IndexByScope = "GSI7"
	// IndexByMark holds the due marks the reminder run works from: items
	// whose next reminder has not been made, sharded, by when it falls due.
	IndexByMark = "GSI8"
)

// MainTable holds customers, their interactions, uniqueness claims,
// complaints with their timelines, notifications and idempotency records.
//
// Every index projects keys only. Items carry sealed fields (the sealed map
// and its wrapped data key share one name across kinds), so projecting
// more would copy ciphertext into every index an item is in and charge
// every write for it again per index. A reader Queries the index for keys
// and fetches the items themselves, consistently, in one BatchGetItem per
// page (Table.fetch); an item that has left the partition it was found in
// since (a status that moved on) is dropped, so lists never show a stale
// projection.
var MainTable = TableDef{
	PartitionKey: attrPK,
	SortKey:      attrSK,
	Stream:       true,
	Indexes: []Index{
		{Name: IndexByOwner, PartitionKey: "GSI1PK", SortKey: "GSI1SK", KeysOnly: true},
		{Name: IndexByGroup, PartitionKey: "GSI2PK", SortKey: "GSI2SK", KeysOnly: true},
		{Name: IndexByKind, PartitionKey: "GSI3PK", SortKey: "GSI3SK", KeysOnly: true},
		{Name: IndexByDue, PartitionKey: "GSI4PK", SortKey: "GSI4SK", KeysOnly: true},
		{Name: IndexBySubject, PartitionKey: "GSI5PK", SortKey: "GSI5SK", KeysOnly: true},
		{Name: IndexBySeverity, PartitionKey: "GSI6PK", SortKey: "GSI6SK", KeysOnly: true},
		{Name: IndexByScope, PartitionKey: "GSI7PK", SortKey: "GSI7SK", KeysOnly: true},
		{Name: IndexByMark, PartitionKey: "GSI8PK", SortKey: "GSI8SK", KeysOnly: true},
	},
	TTLAttribute: attrTTL,
}

// Audit table index names.
const (
	// AuditByEntity lists an entity's audit entries by time.
	AuditByEntity = "ByEntity"
	// AuditByActor lists an actor's audit entries by time.
	AuditByActor = "ByActor"
	// AuditByDay lists one day's audit entries by time.
	AuditByDay = "ByDay"
)

// AuditTable holds the hash-chained audit log, apart from the data it
// describes, so that the functions can be granted only to add to it, and
// the access report's per-user, per-day counts (AccessLog), the only items
// they may update. Its indexes project every attribute: the audit list
// decodes whole entries from each, and the entries are small and written
// once. Only the access counts carry the TTL attribute: no entry, digest or
// verification record expires (and verify would report an entry gone).
var AuditTable = TableDef{
	PartitionKey: attrPK,
	SortKey:      attrSK,
	TTLAttribute: attrTTL,
	Indexes: []Index{
		{Name: AuditByEntity, PartitionKey: "GSI1PK", SortKey: "GSI1SK"},
		{Name: AuditByActor, PartitionKey: "GSI2PK", SortKey: "GSI2SK"},
		{Name: AuditByDay, PartitionKey: "GSI3PK", SortKey: "GSI3SK"},
	},
}

// CreateTableInput returns the request that creates the table under name,
// billed on demand, with a stream of new and old images.
func (t TableDef) CreateTableInput(name string) *dynamodb.CreateTableInput {
	attrs := []types.AttributeDefinition{
		{AttributeName: aws.String(t.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(t.SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, ix := range t.Indexes {
		attrs = append(attrs,
			types.AttributeDefinition{AttributeName: aws.String(ix.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: aws.String(ix.SortKey), AttributeType: types.ScalarAttributeTypeS},
		)
		gsis = append(gsis, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
			},
			Projection: ix.projection(),
		})
	}
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attrs,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(t.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(t.SortKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: gsis,
	}
	if t.Stream {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewTypeNewAndOldImages,
		}
	}
	return in
}

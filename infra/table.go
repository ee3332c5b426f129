package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/dynamo"
)

// newTable returns the main table described by def, the same description the
// local runtime creates its tables from, with a stream of new and old images.
func newTable(scope constructs.Construct, st *Stage, def dynamo.TableDef, key awskms.IKey) awsdynamodb.Table {
	return tableOf(scope, st, "Table", def, key)
}

// newAuditTable returns the hash-chained audit log, described by
// dynamo.AuditTable. Nothing consumes changes to it, so it has no stream; its
// definition has no TTL attribute, so nothing expires from it.
func newAuditTable(scope constructs.Construct, st *Stage, key awskms.IKey) awsdynamodb.Table {
	return tableOf(scope, st, "AuditTable", dynamo.AuditTable, key)
}

// tableOf returns the table described by def under construct id id. Every
// table has point-in-time recovery; in a retaining stage it is also
// protected from deletion and kept when the stack goes away, because it
// holds the only live copy of its data. It has a stream of new and old
// images when def says so. Changing id replaces the table's logical id,
// that is, the table.
func tableOf(scope constructs.Construct, st *Stage, id string, def dynamo.TableDef, key awskms.IKey) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey: stringAttr(def.PartitionKey),
		SortKey:      stringAttr(def.SortKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(st.Retain),
		RemovalPolicy:      removalPolicy(st),
		Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:      key,
	}
	if def.Stream {
		props.Stream = awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES
	}
	// Left unset, not empty, when the table has no TTL attribute.
	if def.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(def.TTLAttribute)
	}
	table := awsdynamodb.NewTable(scope, jsii.String(id), props)
	for _, ix := range def.Indexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:        jsii.String(ix.Name),
			PartitionKey:     stringAttr(ix.PartitionKey),
			SortKey:          stringAttr(ix.SortKey),
			ProjectionType:   projection(ix),
			NonKeyAttributes: nonKey(ix),
		})
	}
	return table
}

func stringAttr(name string) *awsdynamodb.Attribute {
	return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
}

// projection is the CDK form of an index's projection: ALL unless the
// definition names the attributes its readers need, KEYS_ONLY when they
// need none beyond the keys.
func projection(ix dynamo.Index) awsdynamodb.ProjectionType {
	switch {
	case ix.ProjectAll():
		return awsdynamodb.ProjectionType_ALL
	case len(ix.Include) == 0:
		return awsdynamodb.ProjectionType_KEYS_ONLY
	}
	return awsdynamodb.ProjectionType_INCLUDE
}

// nonKey is the attributes of an INCLUDE projection, nil otherwise.
func nonKey(ix dynamo.Index) *[]*string {
	if ix.ProjectAll() || len(ix.Include) == 0 {
		return nil
	}
	return jsii.Strings(ix.Include...)
}

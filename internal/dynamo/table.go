package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EnsureTables creates the main table and the audit table under their names
// if they do not exist, and waits until they are active. The local runtime
// and the tests use it; on AWS the CDK stack creates the tables from the
// same definitions.
func EnsureTables(ctx context.Context, db *dynamodb.Client, main, audit string) error {
	if err := ensureTable(ctx, db, MainTable, main); err != nil {
		return err
	}
	return ensureTable(ctx, db, AuditTable, audit)
}

func ensureTable(ctx context.Context, db *dynamodb.Client, def TableDef, name string) error {
	_, err := db.CreateTable(ctx, def.CreateTableInput(name))
	created := err == nil
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if created && def.TTLAttribute != "" {
		_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(def.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("enable TTL on %s: %w", name, err)
		}
	}
	return nil
}

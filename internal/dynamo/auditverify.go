package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Verifications live in the audit table, beside the digests, under one
// partition sorted by time: each is kept, so a verification that found a
// break is not overwritten by a later one silently. The chain walk skips
// them, as it skips digests.
const (
	verifyPK     = "AUDITVERIFY"
	verifyPrefix = "V#"
)

type verifyItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	crm.AuditVerification
}

// verifyTags reads the verification's own JSON names, as audit entries do.
func verifyTags(o *attributevalue.EncoderOptions) { o.TagKey = "json" }

// RecordVerification implements crm.AuditVerifications.
func (a *AuditLog) RecordVerification(ctx context.Context, v crm.AuditVerification) error {
	item, err := attributevalue.MarshalMapWithOptions(verifyItem{PK: verifyPK, SK: verifyPrefix + v.At.UTC().Format(time.RFC3339Nano), AuditVerification: v}, verifyTags)
	if err != nil {
		return fmt.Errorf("marshal audit verification: %w", err)
	}
	_, err = a.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &a.auditTable, Item: item})
	return wrap(err, "record audit verification")
}

// LatestVerification implements crm.AuditVerifications.
func (a *AuditLog) LatestVerification(ctx context.Context) (crm.AuditVerification, error) {
	out, err := a.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &a.auditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :v)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: verifyPK}, ":v": &types.AttributeValueMemberS{Value: verifyPrefix},
		},
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1),
	})
	if err != nil {
		return crm.AuditVerification{}, wrap(err, "read audit verification")
	}
	if len(out.Items) == 0 {
		return crm.AuditVerification{Status: crm.VerifyNever}, nil
	}
	var it verifyItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Items[0], &it, auditTagDecode); err != nil {
		return crm.AuditVerification{}, fmt.Errorf("unmarshal audit verification: %w", err)
	}
	return it.AuditVerification, nil
}

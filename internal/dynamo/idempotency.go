package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Idempotency records follow the Powertools design: a status, an expiry
// that DynamoDB's TTL also acts on, and the hash of the payload.
const (
	idemInProgress  = "INPROGRESS"
	idemCompleted   = "COMPLETED"
	idemTTL         = 24 * time.Hour
	idemInProgressT = 30 * time.Second
	entityIdem      = "idempotency"
)

type idemItem struct {
	PK              string `dynamodbav:"PK"`
	SK              string `dynamodbav:"SK"`
	Type            string `dynamodbav:"type"`
	Status          string `dynamodbav:"status"`
	Hash            string `dynamodbav:"hash"`
	ExpiresAt       int64  `dynamodbav:"expiresAt"`
	InProgressUntil int64  `dynamodbav:"inProgressUntil"`
	GSI5PK          string `dynamodbav:"GSI5PK,omitempty"`
	GSI5SK          string `dynamodbav:"GSI5SK,omitempty"`
}

// idemSecrets is the saved response, sealed: a response body holds the
// customer it created.
type idemSecrets struct {
	Response *crm.SavedResponse `json:"response"`
}

func idemKey(key string) map[string]types.AttributeValue {
	sum := sha256.Sum256([]byte(key))
	return itemKey("IDEM#"+hex.EncodeToString(sum[:]), "IDEM")
}

// BeginIdempotent implements crm.IdempotencyStore. An expired record counts
// as absent even before TTL removes it, and an in-progress record whose
// request died is taken over once its in-progress window passes.
func (s *Idempotency) BeginIdempotent(ctx context.Context, key, hash string, now time.Time) (*crm.SavedResponse, error) {
	item, err := attributevalue.MarshalMap(idemItem{
		Type: "idempotency", Status: idemInProgress, Hash: hash,
		ExpiresAt: now.Add(idemTTL).Unix(), InProgressUntil: now.Add(idemInProgressT).Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal idempotency record: %w", err)
	}
	for k, v := range idemKey(key) {
		item[k] = v
	}
	nowN := &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR expiresAt < :now OR (#s = :inprog AND inProgressUntil < :now)"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": nowN, ":inprog": &types.AttributeValueMemberS{Value: idemInProgress}},
	})
	if err == nil {
		return nil, nil
	}
	if !isConditionFailed(err) {
		return nil, wrap(err, "begin idempotency record")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: idemKey(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap(err, "get idempotency record")
	}
	var rec idemItem
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil || out.Item == nil {
		return nil, crm.Errorf(crm.ECONFLICT, "a request with this Idempotency-Key is in progress; retry shortly")
	}
	switch {
	case rec.Hash != hash:
		return nil, crm.Errorf(crm.EIDEMPOTENCY, "this Idempotency-Key was used with a different request")
	case rec.Status == idemCompleted:
		var sec idemSecrets
		if err := s.open(ctx, entityIdem, out.Item, &sec); err != nil {
			return nil, err
		}
		if sec.Response == nil {
			return nil, errors.New("completed idempotency record has no response")
		}
		return sec.Response, nil
	}
	return nil, crm.Errorf(crm.ECONFLICT, "a request with this Idempotency-Key is in progress; retry shortly")
}

// CompleteIdempotent implements crm.IdempotencyStore.
func (s *Idempotency) CompleteIdempotent(ctx context.Context, key string, resp crm.SavedResponse, now time.Time) error {
	var hash string
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: idemKey(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "get idempotency record")
	}
	if v, ok := out.Item["hash"].(*types.AttributeValueMemberS); ok {
		hash = v.Value
	}
	rec := idemItem{Type: "idempotency", Status: idemCompleted, Hash: hash, ExpiresAt: now.Add(idemTTL).Unix()}
	if resp.Subject != "" {
		rec.GSI5PK, rec.GSI5SK = "IDEMSUBJ#"+resp.Subject, sortTime(now)
	}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fmt.Errorf("marshal idempotency record: %w", err)
	}
	for k, v := range idemKey(key) {
		item[k] = v
	}
	if err := s.seal(ctx, entityIdem, item, &idemSecrets{Response: &resp}); err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return wrap(err, "complete idempotency record")
}

// ReleaseIdempotent implements crm.IdempotencyStore.
func (s *Idempotency) ReleaseIdempotent(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: idemKey(key)})
	return wrap(err, "delete idempotency record")
}

func asCanceled(err error) (*types.TransactionCanceledException, bool) {
	var tce *types.TransactionCanceledException
	ok := errors.As(err, &tce)
	return tce, ok
}

package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// An import lives in one partition: the job item, which carries the status
// and counts (and so, on the table's stream, the change to done that an
// import.finished event derives from), the sealed chunks of rows until each
// is processed, and one item per rejected row.
const (
	entityImport      = "import"
	entityImportChunk = "importchunk"
	entityImportRow   = "importrow"
	skImportJob       = "JOB"
)

func importPK(id string) string      { return "IMPORT#" + id }
func importChunkSK(n int) string     { return fmt.Sprintf("CHUNK#%06d", n) }
func importRowSK(n int) string       { return fmt.Sprintf("ROW#%09d", n) }
func importFromRowSK(sk string) bool { return len(sk) > 4 && sk[:4] == "ROW#" }

// Imports stores background imports.
type Imports struct{ *Table }

var _ crm.ImportStore = (*Imports)(nil)

// Imports returns the import store of t.
func (t *Table) Imports() *Imports { return &Imports{t} }

type importItem struct {
	PK         string     `dynamodbav:"PK"`
	SK         string     `dynamodbav:"SK"`
	Type       string     `dynamodbav:"type"`
	ID         string     `dynamodbav:"id"`
	Status     string     `dynamodbav:"status"`
	Rows       int        `dynamodbav:"rows"`
	Processed  int        `dynamodbav:"processed"`
	Created    int        `dynamodbav:"created"`
	Rejected   int        `dynamodbav:"rejected"`
	CreatedAt  time.Time  `dynamodbav:"createdAt"`
	StartedAt  *time.Time `dynamodbav:"startedAt,omitempty"`
	FinishedAt *time.Time `dynamodbav:"finishedAt,omitempty"`
	ActorID    string     `dynamodbav:"actorId"`
	ActorRoles []string   `dynamodbav:"actorRoles"`
	Chunks     int        `dynamodbav:"chunks"`
	NextChunk  int        `dynamodbav:"nextChunk"`
}

// importChunkSecrets are a chunk's rows: personal data, sealed like a
// customer's fields and under the same purpose, since they are customer
// fields not yet stored as such.
type importChunkSecrets struct {
	Rows []crm.ImportRow `json:"rows"`
}

type importRowItem struct {
	PK          string           `dynamodbav:"PK"`
	SK          string           `dynamodbav:"SK"`
	Type        string           `dynamodbav:"type"`
	Row         int              `dynamodbav:"row"`
	Errors      []crm.FieldError `dynamodbav:"errors"`
	DuplicateOf string           `dynamodbav:"duplicateOf,omitempty"`
}

// CreateImport implements crm.ImportStore. The chunks go first and the job
// last, so that a job that exists has all its rows.
func (s *Imports) CreateImport(ctx context.Context, imp crm.Import, chunks [][]crm.ImportRow) error {
	for n, rows := range chunks {
		item := itemKey(importPK(imp.ID), importChunkSK(n))
		item["type"] = &types.AttributeValueMemberS{Value: entityImportChunk}
		if err := s.seal(ctx, entityImportChunk, item, &importChunkSecrets{Rows: rows}); err != nil {
			return err
		}
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
			return wrap(err, "put import chunk")
		}
	}
	roles := make([]string, len(imp.Actor.Roles))
	for i, r := range imp.Actor.Roles {
		roles[i] = string(r)
	}
	item, err := attributevalue.MarshalMap(importItem{PK: importPK(imp.ID), SK: skImportJob, Type: entityImport, ID: imp.ID,
		Status: imp.Status, Rows: imp.Rows, CreatedAt: imp.CreatedAt, ActorID: imp.Actor.ID, ActorRoles: roles, Chunks: imp.Chunks})
	if err != nil {
		return fmt.Errorf("marshal import: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	return wrap(err, "put import")
}

// GetImport implements crm.ImportStore.
func (s *Imports) GetImport(ctx context.Context, id string) (crm.Import, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(importPK(id), skImportJob), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return crm.Import{}, wrap(err, "get import")
	}
	if out.Item == nil {
		return crm.Import{}, crm.Errorf(crm.ENOTFOUND, "import %s not found", id)
	}
	var it importItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return crm.Import{}, fmt.Errorf("unmarshal import: %w", err)
	}
	imp := crm.Import{ID: it.ID, Status: it.Status, Rows: it.Rows, Processed: it.Processed, Created: it.Created, Rejected: it.Rejected,
		CreatedAt: it.CreatedAt.UTC(), Actor: crm.Actor{ID: it.ActorID}, Chunks: it.Chunks, NextChunk: it.NextChunk}
	for _, r := range it.ActorRoles {
		imp.Actor.Roles = append(imp.Actor.Roles, crm.Role(r))
	}
	if it.StartedAt != nil {
		imp.StartedAt = it.StartedAt.UTC()
	}
	if it.FinishedAt != nil {
		imp.FinishedAt = it.FinishedAt.UTC()
	}
	return imp, nil
}

// ImportChunk implements crm.ImportStore.
func (s *Imports) ImportChunk(ctx context.Context, id string, chunk int) ([]crm.ImportRow, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(importPK(id), importChunkSK(chunk)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, wrap(err, "get import chunk")
	}
	if out.Item == nil {
		return nil, crm.Errorf(crm.ENOTFOUND, "import %s chunk %d not found", id, chunk)
	}
	var sec importChunkSecrets
	if err := s.open(ctx, entityImportChunk, out.Item, &sec); err != nil {
		return nil, err
	}
	return sec.Rows, nil
}

// StartImport implements crm.ImportStore.
func (s *Imports) StartImport(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey(importPK(id), skImportJob),
		UpdateExpression:          aws.String("SET #st = :running, startedAt = :at"),
		ConditionExpression:       aws.String("#st = :queued"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":running": strAV(crm.ImportRunning), ":queued": strAV(crm.ImportQueued), ":at": strAV(at.UTC().Format(time.RFC3339Nano))},
	})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err, "start import")
}

func strAV(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// FinishChunk implements crm.ImportStore. The rejects are put first (a
// put of the same row again is the same item); then one transaction adds
// the counts only if the chunk is still the next one, and deletes the
// chunk's rows with it.
func (s *Imports) FinishChunk(ctx context.Context, imp crm.Import, chunk int, out crm.ChunkOutcome, at time.Time) error {
	var puts []types.TransactWriteItem
	for _, r := range out.Rejects {
		item, err := attributevalue.MarshalMap(importRowItem{PK: importPK(imp.ID), SK: importRowSK(r.Row), Type: entityImportRow,
			Row: r.Row, Errors: r.Errors, DuplicateOf: r.DuplicateOf})
		if err != nil {
			return fmt.Errorf("marshal import row: %w", err)
		}
		puts = append(puts, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}})
	}
	for len(puts) > 0 {
		n := min(len(puts), 100)
		if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: puts[:n]}); err != nil {
			return wrap(err, "put import rows")
		}
		puts = puts[n:]
	}
	set := "SET #pr = #pr + :p, #cr = #cr + :c, #rj = #rj + :r, #nc = :next"
	values := map[string]types.AttributeValue{":p": num(out.Processed), ":c": num(out.Created), ":r": num(out.Rejected),
		":next": num(chunk + 1), ":this": num(chunk)}
	names := map[string]string{"#pr": "processed", "#cr": "created", "#rj": "rejected", "#nc": "nextChunk"}
	if chunk+1 >= imp.Chunks {
		set += ", #st = :done, finishedAt = :at"
		names["#st"] = "status"
		values[":done"], values[":at"] = strAV(crm.ImportDone), strAV(at.UTC().Format(time.RFC3339Nano))
	}
	update := &types.Update{TableName: &s.table, Key: itemKey(importPK(imp.ID), skImportJob), UpdateExpression: aws.String(set),
		ConditionExpression: aws.String("#nc = :this"), ExpressionAttributeNames: names, ExpressionAttributeValues: values}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: update},
		{Delete: &types.Delete{TableName: &s.table, Key: itemKey(importPK(imp.ID), importChunkSK(chunk))}},
	}})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && !isConflictOnly(tce) {
		// Recorded by another run already; make sure the rows are gone.
		_, derr := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(importPK(imp.ID), importChunkSK(chunk))})
		return wrap(derr, "delete import chunk")
	}
	return wrap(err, "finish import chunk")
}

// FailImport implements crm.ImportStore.
func (s *Imports) FailImport(ctx context.Context, id string, at time.Time) error {
	imp, err := s.GetImport(ctx, id)
	if err != nil {
		return err
	}
	for n := imp.NextChunk; n < imp.Chunks; n++ {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(importPK(id), importChunkSK(n))}); err != nil {
			return wrap(err, "delete import chunk")
		}
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey(importPK(id), skImportJob),
		UpdateExpression:          aws.String("SET #st = :failed, finishedAt = :at"),
		ConditionExpression:       aws.String("#st <> :done"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":failed": strAV(crm.ImportFailed), ":done": strAV(crm.ImportDone), ":at": strAV(at.UTC().Format(time.RFC3339Nano))},
	})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err, "fail import")
}

// ListImportRows implements crm.ImportStore.
func (s *Imports) ListImportRows(ctx context.Context, id string, p crm.Page) ([]crm.ImportRowResult, string, error) {
	src := tableSource(importPK(id), "ROW#")
	src.ascending = true
	return paginate(ctx, s.Table, src, p, "import-rows|"+id,
		func(_ context.Context, items []map[string]types.AttributeValue) ([]*crm.ImportRowResult, error) {
			out := make([]*crm.ImportRowResult, len(items))
			for i, item := range items {
				var it importRowItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return nil, fmt.Errorf("unmarshal import row: %w", err)
				}
				if !importFromRowSK(it.SK) {
					continue
				}
				out[i] = &crm.ImportRowResult{Row: it.Row, Errors: it.Errors, DuplicateOf: it.DuplicateOf}
			}
			return out, nil
		})
}

package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

// Sealed items carry the wrapped data key in attrEDK and one ciphertext per
// sensitive field in the map attrSealed. The fields of an entity's secrets
// struct are what gets sealed: adding a sensitive field is adding a struct
// field.
//
// attrContext marks an item sealed under the purpose-bearing encryption
// context; items without it were sealed before purposes existed, under
// {table, entity}, and are opened under that context (and with the legacy
// keyring, which on AWS is the key that wrapped them).
const (
	attrEDK     = "edk"
	attrSealed  = "sealed"
	attrContext = "ectx"
	contextV2   = "purpose"
)

// Purposes of field envelopes: the "purpose" of the KMS encryption context,
// on which the functions' grants are conditioned, so that a principal may
// unwrap the data keys of the fields it serves and no others. A purpose
// names a kind of data, never a person.
const (
	PurposeCustomerFields   = "customer-fields"
	PurposeInteractionNotes = "interaction-notes"
	PurposeComplaintText    = "complaint-text"
	PurposeSavedResponses   = "saved-responses"
	PurposeReportLabels     = "report-labels"
	// PurposeBlindIndex wraps the blind-index key (CONFIG#index-key).
	PurposeBlindIndex = "blind-index"
)

// entityPurpose is the purpose of each sealed entity type. A new sealed
// entity must be added here: seal refuses an entity without a purpose.
var entityPurpose = map[string]string{
	entityCustomer:    PurposeCustomerFields,
	entityInteraction: PurposeInteractionNotes,
	entityComplaint:   PurposeComplaintText,
	entityTimeline:    PurposeComplaintText,
	entityIdem:        PurposeSavedResponses,
	entityLabel:       PurposeReportLabels,
	// An import's rows are customer fields waiting to be stored as such.
	entityImportChunk: PurposeCustomerFields,
	entityWebhook:     PurposeWebhookSecrets,
	// A pending edit's body is customer fields waiting to be applied.
	entityApproval: PurposeCustomerFields,
	// A merge's undo snapshot is two customers' fields.
	entityMergeSnapshot: PurposeCustomerFields,
}

// Purposes returns every purpose of field envelopes and of the blind-index
// key, for the stack to grant by.
func Purposes() []string {
	return []string{PurposeCustomerFields, PurposeInteractionNotes, PurposeComplaintText,
		PurposeSavedResponses, PurposeReportLabels, PurposeWebhookSecrets, PurposeBlindIndex}
}

// EntitiesOf returns the entity types sealed for purposes, sorted: what the
// encryption contexts of envelopes sealed before purposes named.
func EntitiesOf(purposes ...string) []string {
	var out []string
	for e, p := range entityPurpose {
		if slices.Contains(purposes, p) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// encContext is the KMS encryption context of an entity's data keys: the
// table, the entity type and the purpose, never anything about a person.
func encContext(entity string) map[string]string {
	return map[string]string{"table": logicalTable, "entity": entity, "purpose": entityPurpose[entity]}
}

// legacyContext is the encryption context items were sealed under before
// purposes: they still open.
func legacyContext(entity string) map[string]string {
	return map[string]string{"table": logicalTable, "entity": entity}
}

// seal encrypts every non-zero field of secrets (a pointer to a struct with
// json tags) under one data key, binding each ciphertext to the item's key
// and the field's name. It sets attrEDK and attrSealed on item.
func (s *Table) seal(ctx context.Context, entity string, item map[string]types.AttributeValue, secrets any) error {
	if entityPurpose[entity] == "" {
		return fmt.Errorf("seal %s: entity has no purpose", entity)
	}
	fields := map[string]types.AttributeValue{}
	var dk *envelope.DataKey
	v := reflect.ValueOf(secrets).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.IsZero() {
			continue
		}
		name := jsonName(v.Type().Field(i))
		plain, err := json.Marshal(f.Interface())
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		if dk == nil {
			if dk, err = s.sealer.ItemKey(ctx, encContext(entity)); err != nil {
				return keyringError(err, "data key")
			}
		}
		ct, err := dk.Seal(plain, envelope.AAD(logicalTable, keyString(item), name))
		if err != nil {
			return fmt.Errorf("seal %s: %w", name, err)
		}
		fields[name] = &types.AttributeValueMemberB{Value: ct}
	}
	if dk == nil {
		return nil
	}
	item[attrEDK] = &types.AttributeValueMemberB{Value: dk.Wrapped()}
	item[attrSealed] = &types.AttributeValueMemberM{Value: fields}
	item[attrContext] = &types.AttributeValueMemberS{Value: contextV2}
	return nil
}

// open decrypts the sealed fields of item into secrets. A ciphertext that was
// moved from another item or field, altered, or whose data key is missing
// fails with EINTEGRITY; nothing partial is returned.
func (s *Table) open(ctx context.Context, entity string, item map[string]types.AttributeValue, secrets any) error {
	sealed, _ := item[attrSealed].(*types.AttributeValueMemberM)
	if sealed == nil || len(sealed.Value) == 0 {
		return nil
	}
	edk, ok := item[attrEDK].(*types.AttributeValueMemberB)
	if !ok {
		return integrityError()
	}
	var dk *envelope.DataKey
	var err error
	if c, _ := item[attrContext].(*types.AttributeValueMemberS); c != nil && c.Value == contextV2 {
		dk, err = s.sealer.OpenKey(ctx, edk.Value, encContext(entity))
	} else {
		dk, err = s.legacy.OpenKey(ctx, edk.Value, legacyContext(entity))
	}
	if err != nil {
		return keyringError(err, "open data key")
	}
	v := reflect.ValueOf(secrets).Elem()
	byName := map[string]reflect.Value{}
	for i := range v.NumField() {
		byName[jsonName(v.Type().Field(i))] = v.Field(i)
	}
	for name, av := range sealed.Value {
		f, known := byName[name]
		b, isB := av.(*types.AttributeValueMemberB)
		if !known || !isB {
			return integrityError()
		}
		plain, err := dk.Open(b.Value, envelope.AAD(logicalTable, keyString(item), name))
		if err != nil {
			return integrityError()
		}
		if err := json.Unmarshal(plain, f.Addr().Interface()); err != nil {
			return integrityError()
		}
	}
	return nil
}

func integrityError() error {
	return &crm.Error{Code: crm.EINTEGRITY, Message: "stored data failed its integrity check"}
}

// keyString is the item's primary key as bound into associated data.
func keyString(item map[string]types.AttributeValue) string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	sk, _ := item[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

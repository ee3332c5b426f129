package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

// Sealed items carry the wrapped data key in attrEDK and one ciphertext per
// sensitive field in the map attrSealed. The fields of an entity's secrets
// struct are what gets sealed: adding a sensitive field is adding a struct
// field.
const (
	attrEDK    = "edk"
	attrSealed = "sealed"
)

// encContext is the KMS encryption context of an entity's data keys: the
// table and the entity type, never anything about a person.
func encContext(entity string) map[string]string {
	return map[string]string{"table": logicalTable, "entity": entity}
}

// seal encrypts every non-zero field of secrets (a pointer to a struct with
// json tags) under one data key, binding each ciphertext to the item's key
// and the field's name. It sets attrEDK and attrSealed on item.
func (s *Table) seal(ctx context.Context, entity string, item map[string]types.AttributeValue, secrets any) error {
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
	dk, err := s.sealer.OpenKey(ctx, edk.Value, encContext(entity))
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

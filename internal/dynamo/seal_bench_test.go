package dynamo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

func benchCustomer() crm.Customer {
	now := time.Now().UTC()
	return crm.Customer{
		ID: "c_benchmark0000000000", Name: "Li Wei", Phone: "+8613800138000", Email: "li.wei@example.com",
		Address: &crm.Address{Line1: "88 Jianguo Road", City: "Beijing", PostalCode: "100022", Country: "CN"},
		Company: "Acme", Segment: "smb", Tags: []string{"vip"}, NationalID: "110101199003074258",
		Billing: &crm.Billing{BankAccount: "CN12BANK0000123456789", TaxID: "91110000MA01"}, OwnerID: "alice",
		CreatedAt: now, UpdatedAt: now, ReviewDueAt: now.Add(time.Hour), Version: 1,
	}
}

// BenchmarkCustomerItem measures turning a customer into its item and back
// with the sensitive fields sealed (warm data-key cache), next to the same
// conversion with every field stored as plaintext.
func BenchmarkCustomerItem(b *testing.B) {
	kr, err := envelope.OpenLocalKeyring(filepath.Join(b.TempDir(), "k.json"))
	if err != nil {
		b.Fatal(err)
	}
	sealer := envelope.NewSealer(kr, envelope.Options{})
	s := tableWithIndexKey(make([]byte, 32))
	s.sealer, s.legacy = sealer, sealer
	ctx := context.Background()
	c := benchCustomer()

	b.Run("sealed", func(b *testing.B) {
		for b.Loop() {
			item, err := s.toCustomerItem(ctx, c, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.fromCustomerItem(ctx, item); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plaintext", func(b *testing.B) {
		for b.Loop() {
			item, err := attributevalue.MarshalMap(c)
			if err != nil {
				b.Fatal(err)
			}
			var back crm.Customer
			if err := attributevalue.UnmarshalMap(item, &back); err != nil {
				b.Fatal(err)
			}
		}
	})
}

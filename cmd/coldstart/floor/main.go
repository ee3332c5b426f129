// Command floor is the SDK floor the cold-start benchmark compares every
// function with: a Lambda bootstrap that builds the AWS SDK clients the
// functions use (DynamoDB, KMS, SNS), reads one item at init and one per
// invocation, and does nothing else. A function cannot start faster than
// this without dropping a client it needs.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func main() {
	ctx := context.Background()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// clients are the SDK clients a Clientele function holds. The KMS and SNS
// clients are built, as a function builds them, but never called.
type clients struct {
	db    *dynamodb.Client
	kms   *kms.Client
	sns   *sns.Client
	table string
}

func run(ctx context.Context, getenv func(string) string) error {
	table := getenv("TABLE_NAME")
	if table == "" {
		return fmt.Errorf("TABLE_NAME is not set")
	}
	c, err := newClients(ctx, getenv, table)
	if err != nil {
		return err
	}
	// A function opens its store at init, which reads the table once.
	if _, err := c.get(ctx); err != nil {
		return err
	}
	lambda.StartWithOptions(c.handle, lambda.WithContext(ctx))
	return nil
}

// newClients loads the AWS configuration as internal/app does: against
// DYNAMODB_ENDPOINT with static "local" credentials when it is set, the
// default chain otherwise.
func newClients(ctx context.Context, getenv func(string) string, table string) (*clients, error) {
	endpoint := getenv("DYNAMODB_ENDPOINT")
	var opts []func(*config.LoadOptions) error
	if endpoint != "" {
		region := getenv("AWS_REGION")
		if region == "" {
			region = "us-east-1"
		}
		opts = append(opts, config.WithRegion(region),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// As internal/app: DynamoDB Local's error responses carry a
			// CRC32 the SDK cannot check without reading them whole.
			o.DisableValidateResponseChecksum = true
		}
	})
	return &clients{db: db, kms: kms.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), table: table}, nil
}

// get reads one item, consistently, as a function's reads are. The item
// need not exist: the round trip is the point. PK and SK are the main
// table's key attributes (internal/dynamo's MainTable), written out here
// because importing the store would link what the floor is to leave out.
func (c *clients) get(ctx context.Context) (bool, error) {
	out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.table),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "COLDSTART#floor"},
			"SK": &types.AttributeValueMemberS{Value: "COLDSTART#floor"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("get item: %w", err)
	}
	return out.Item != nil, nil
}

// handle answers any API Gateway request with one GetItem.
func (c *clients) handle(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	found, err := c.get(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       fmt.Sprintf(`{"found":%t}`, found),
	}, nil
}

// Package awschain resolves the SDK's configuration through its default
// chain: environment, shared profiles, SSO, web identity, the instance
// metadata service. The CLI and the local runtime use it (an operator's
// profile or SSO session); a Lambda function, whose credentials are in its
// environment, does not link it.
package awschain

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load returns the default chain's configuration with base's region,
// retryer and HTTP client, which the chain would otherwise choose itself.
func Load(ctx context.Context, base aws.Config) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(base.Region), config.WithRetryer(base.Retryer), config.WithHTTPClient(base.HTTPClient))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

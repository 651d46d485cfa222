package main

import (
	_ "github.com/hashicorp/vault/api"
	_ "github.com/hashicorp/vault/api/auth/approle"
	_ "github.com/hashicorp/vault/api/auth/kubernetes"
	_ "gitlab.com/gitlab-org/api/client-go"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "k8s.io/client-go/tools/leaderelection"
	_ "github.com/robfig/cron/v3"
)

package main

import (
	_ "github.com/hashicorp/vault/api"
	_ "github.com/hashicorp/vault/api/auth/approle"
	_ "github.com/hashicorp/vault/api/auth/kubernetes"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/robfig/cron/v3"
	_ "gitlab.com/gitlab-org/api/client-go"
	_ "k8s.io/client-go/tools/leaderelection"
)

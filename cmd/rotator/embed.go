package main

// The binary carries what a scratch image (hack/image, `make image`) lacks, so it needs nothing
// from the file system it runs on: Mozilla's CA roots, used only when the system has none (a
// mounted /etc/ssl/certs or SSL_CERT_FILE still wins), to verify Harbor's, GitLab's and Vault's
// TLS; and the time zone database, for schedules with CRON_TZ= (about 450 KB; ZONEINFO and
// /usr/share/zoneinfo still win). The roots are parsed at start: about 3.5 MiB more RSS (33 → 37
// MiB for `rotator version`), well inside the shipped 256 MiB limit.
import (
	_ "time/tzdata"

	_ "golang.org/x/crypto/x509roots/fallback"
)

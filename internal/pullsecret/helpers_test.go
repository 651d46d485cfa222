package pullsecret

import (
	"encoding/base64"
	"fmt"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

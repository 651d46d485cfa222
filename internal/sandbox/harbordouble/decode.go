package harbordouble

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-openapi/strfmt"
)

// swaggerModel is a go-client generated model: it validates itself against the swagger.
type swaggerModel interface {
	Validate(strfmt.Registry) error
}

// decodeBody binds the JSON body of a request into v, the go-client model of the swagger's
// body parameter named param, the way Harbor's go-swagger binding does: a missing body, a
// content type other than JSON, JSON that does not parse into the model, or a model that fails
// its swagger validation is a 422 validation failure. The double is stricter than Harbor in
// one point: an unknown field, or anything after the JSON value, is refused too.
func decodeBody(r *http.Request, param string, v swaggerModel) *apiError {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return errValidation(param + " in body is required")
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream" // what go-openapi assumes for a body without type
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return errValidation(fmt.Sprintf("unsupported media type %q, only [application/json] are allowed", ct))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return errValidation(param + " in body is required")
	}
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("unexpected data after the JSON value (the Harbor double is stricter than Harbor here)")
		}
	} else if strings.HasPrefix(err.Error(), "json: unknown field") {
		err = fmt.Errorf("%w (the Harbor double refuses unknown fields; Harbor would ignore it)", err)
	}
	if err != nil {
		return errValidation(fmt.Sprintf("parsing %s body from \"\" failed, because %v", param, err))
	}
	if err := v.Validate(strfmt.Default); err != nil {
		return errValidation(err.Error())
	}
	return nil
}

// parseRobotID binds the robot_id path parameter, an integer in the swagger.
func parseRobotID(param string) (int64, *apiError) {
	id, err := strconv.ParseInt(param, 10, 64)
	if err != nil {
		return 0, errValidation(fmt.Sprintf("robot_id in path must be of type int64: %q", param))
	}
	return id, nil
}

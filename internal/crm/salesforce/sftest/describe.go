package sftest

import (
	"net/http"
	"strings"
)

// sObject Describe: GET /services/data/vXX.X/sobjects/<Object>/describe
// answers the object's metadata, of which the double fills name, label,
// keyPrefix, custom, queryable, updateable and, for each field, name,
// label, type, updateable, nillable and deprecatedAndHidden (false). Field
// types are those of the system fields (id, boolean, reference, datetime)
// and "string" for the others unless SetFieldType says otherwise (address,
// location, base64, double, ...). An unknown object is 404 NOT_FOUND.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_describe.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm

// SetFieldType makes a field exist with this describe type (e.g. "address"
// for a compound address field), creating the object if needed.
func (s *Server) SetFieldType(objectName, field, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ensureObject(objectName)
	canon := s.ensureField(o, field)
	if o.types == nil {
		o.types = map[string]string{}
	}
	o.types[canon] = typ
}

type describeField struct {
	Name                string `json:"name"`
	Label               string `json:"label"`
	Type                string `json:"type"`
	Updateable          bool   `json:"updateable"`
	Nillable            bool   `json:"nillable"`
	DeprecatedAndHidden bool   `json:"deprecatedAndHidden"`
}

func (s *Server) describe(c *exchange, objectName string) {
	o := s.lookupObject(objectName)
	if o == nil {
		s.restError(c, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	fields := make([]describeField, 0, len(o.order))
	for _, f := range o.order {
		typ := o.types[f]
		switch f {
		case "Id":
			typ = "id"
		case "IsDeleted":
			typ = "boolean"
		case "MasterRecordId":
			typ = "reference"
		case "CreatedDate", "LastModifiedDate", "SystemModstamp":
			typ = "datetime"
		}
		if typ == "" {
			typ = "string"
		}
		system := isSystemField(f)
		fields = append(fields, describeField{Name: f, Label: f, Type: typ, Updateable: !system && typ != "address" && typ != "location", Nillable: !system})
	}
	s.writeJSON(c, http.StatusOK, map[string]any{
		"name": o.name, "label": o.name, "keyPrefix": o.prefix, "custom": strings.HasSuffix(o.name, "__c"),
		"queryable": true, "updateable": true, "fields": fields,
	})
}

package sdk

import (
	"encoding/json"
	"fmt"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// Attribute types a plugin may declare. They are the HCL type names, so
// the operator reads the same word in an error as in the plugin's README.
const (
	TypeString     = "string"
	TypeNumber     = "number"
	TypeBool       = "bool"
	TypeListString = "list(string)"
	TypeMapString  = "map(string)"
	// TypePath is a string naming a file or directory. A relative one is
	// resolved by the host against the directory of the file that sets it
	// (as the core's own path options are), so the plugin always receives
	// an absolute path whatever the daemon's working directory ("/" under
	// systemd). Empty stays empty.
	TypePath = "path"
)

// Schema declares the HCL body of a plugin's block. The host decodes the
// operator's block against it, so a typo or a wrong type is reported with
// file, line and column before the plugin is configured.
type Schema struct {
	// Attributes are the block's attributes.
	Attributes []Attribute
	// Blocks are nested block types.
	Blocks []Block
}

// Attribute is one attribute of a block.
type Attribute struct {
	// Name is the attribute name, also the key in the decoded config JSON.
	Name string
	// Type is one of the Type* constants.
	Type string
	// Required makes the host refuse a block without this attribute.
	Required bool
	// Default is used when the attribute is absent; it must be
	// JSON-encodable and of Type. nil means null.
	Default any
	// Description is shown in documentation and error details.
	Description string
}

// Block is a nested block type.
type Block struct {
	// TypeName is the block keyword, e.g. "target".
	TypeName string
	// Label names the block's single label (e.g. "name" for target "ops"
	// {...}); labeled blocks decode to an object keyed by label. Empty means
	// unlabeled, decoded to a list of objects in file order.
	Label string
	// Body is the schema inside the block.
	Body Schema
	// Description is shown in documentation.
	Description string
}

func schemaToProto(s Schema) (*pb.Schema, error) {
	out := &pb.Schema{}
	for _, a := range s.Attributes {
		pa := &pb.Attribute{Name: a.Name, Type: a.Type, Required: a.Required, Description: a.Description}
		if a.Default != nil {
			b, err := json.Marshal(a.Default)
			if err != nil {
				return nil, fmt.Errorf("default of attribute %q: %w", a.Name, err)
			}
			pa.DefaultJson = b
		}
		out.Attributes = append(out.Attributes, pa)
	}
	for _, b := range s.Blocks {
		body, err := schemaToProto(b.Body)
		if err != nil {
			return nil, fmt.Errorf("block %q: %w", b.TypeName, err)
		}
		out.Blocks = append(out.Blocks, &pb.Block{TypeName: b.TypeName, Label: b.Label, Body: body, Description: b.Description})
	}
	return out, nil
}

func schemaFromProto(s *pb.Schema) (Schema, error) {
	var out Schema
	if s == nil {
		return out, nil
	}
	for _, a := range s.GetAttributes() {
		attr := Attribute{Name: a.GetName(), Type: a.GetType(), Required: a.GetRequired(), Description: a.GetDescription()}
		if len(a.GetDefaultJson()) > 0 {
			// Kept as raw JSON: the host converts it to the declared type,
			// and a round trip through any would turn numbers into floats.
			attr.Default = json.RawMessage(a.GetDefaultJson())
		}
		out.Attributes = append(out.Attributes, attr)
	}
	for _, b := range s.GetBlocks() {
		body, err := schemaFromProto(b.GetBody())
		if err != nil {
			return out, err
		}
		out.Blocks = append(out.Blocks, Block{TypeName: b.GetTypeName(), Label: b.GetLabel(), Body: body, Description: b.GetDescription()})
	}
	return out, nil
}

func infoToProto(i PluginInfo) *pb.PluginInfo {
	return &pb.PluginInfo{Name: i.Name, Version: i.Version, Kind: i.Kind, Capabilities: i.Capabilities}
}

func infoFromProto(i *pb.PluginInfo) PluginInfo {
	return PluginInfo{Name: i.GetName(), Version: i.GetVersion(), Kind: i.GetKind(), Capabilities: i.GetCapabilities()}
}

// Package glance is the glance builder: it boots a temporary Nova server, provisions
// it, and turns it into a Glance image with the requested visibility and
// properties, deleting every temporary resource afterwards.
package glance

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/uuid"

	"github.com/packer-glance/packer-plugin-glance/access"
	"github.com/packer-glance/packer-plugin-glance/internal/imagecopy"
	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

// BuilderID identifies artifacts made by this builder.
const BuilderID = "packer-glance.glance"

// Builder implements packersdk.Builder.
type Builder struct {
	config Config
	// newCloud connects to the cloud; tests replace it with a fake.
	newCloud func(ctx context.Context, cfg *Config) (*Cloud, error)
	// connect makes the communicator's connection steps; tests replace it.
	connect connectFunc
}

var _ packersdk.Builder = new(Builder)

// ConfigSpec describes the builder's HCL2 schema.
func (b *Builder) ConfigSpec() hcldec.ObjectSpec { return b.config.FlatMapstructure().HCL2Spec() }

// Prepare validates the configuration; it makes no network call.
func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	warnings, err := b.config.Prepare(raws...)
	if err != nil {
		return nil, warnings, err
	}
	return generatedVariables, warnings, nil
}

func connect(ctx context.Context, cfg *Config) (*Cloud, error) {
	sess, err := cfg.AccessConfig.Authenticate(ctx)
	if err != nil {
		return nil, err
	}
	cloud, err := newOSAPICloud(sess, access.DownloadOptions{})
	if err != nil {
		return nil, err
	}
	if len(cfg.CopyTo) > 0 {
		cloud.Copies = imagecopy.FromSession(sess, cfg.APIRetryTimeout)
	}
	return cloud, nil
}

// Run authenticates, runs the steps, and returns the image. Once the build has
// succeeded, older images are replaced (image_force) and retired (keep_latest).
func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	newCloud := b.newCloud
	if newCloud == nil {
		newCloud = connect
	}
	cloud, err := newCloud(ctx, &b.config)
	if err != nil {
		return nil, err
	}

	state := new(multistep.BasicStateBag)
	state.Put(stateConfig, &b.config)
	state.Put(stateUI, ui)
	state.Put(stateHook, hook)
	state.Put(stateCloud, cloud)
	state.Put(stateBuildUUID, uuid.TimeOrderedUUID())
	putGenerated(state, "ImageName", b.config.ImageName)
	putGenerated(state, "Region", cloud.Region)

	create, copies := &stepCreateImage{}, &stepCopyImages{}
	runner := commonsteps.NewRunner(b.steps(create, copies), b.config.PackerConfig, ui)
	runner.Run(ctx, state)

	// The outcome is decided only now that every clean-up has run: a Ctrl-C
	// during the final clean-up fails the build as surely as one during a step.
	// A build that fails leaves nothing, its image included; one that succeeds
	// keeps its image and only then replaces the older ones.
	// The runner marks the state cancelled from a goroutine that stops watching
	// when the steps end: a Ctrl-C in the last moments of clean-up shows only in
	// the context.
	_, cancelled := state.GetOk(multistep.StateCancelled)
	cancelled = cancelled || ctx.Err() != nil
	var failure error
	if err, ok := state.GetOk(stateError); ok {
		failure = err.(error)
		if cancelled {
			failure = fmt.Errorf("build cancelled: %w", failure)
		}
	} else if cancelled {
		failure = errors.New("build cancelled")
	}
	if failure != nil {
		copies.undo(state)
		create.undo(state)
		return nil, failure
	}
	img, ok := state.Get(stateImage).(*Image)
	if !ok || img == nil {
		return nil, nil // skip_create_image
	}
	replaceCtx, cancelReplace := retry.CleanupContext()
	defer cancelReplace()
	(&stepReplaceImages{}).Run(replaceCtx, state)
	copied, _ := state.Get(stateCopies).(*imagecopy.Result)
	copied.ReplaceOlder(replaceCtx, ui.Say)
	(&stepRetireImages{}).Run(replaceCtx, state)
	retireCopies(replaceCtx, state, copied)
	a := &Artifact{
		ImageID:    img.ID,
		ImageName:  img.Name,
		Region:     cloud.Region,
		Visibility: img.Visibility,
		Properties: b.config.ImageProperties,
		StateData:  map[string]interface{}{"generated_data": state.Get(stateGeneratedData)},
		images:     cloud.Images,
	}
	if a.ImageName == "" {
		a.ImageName = b.config.ImageName
	}
	a.addCopies(cloud, copied)
	if url := stringOf(state, stateSourceImportURL); url != "" {
		a.SourceImageURL = access.RedactURLString(url) // the URL may carry credentials
	} else if src, ok := state.Get(stateSourceImage).(*Image); ok {
		a.SourceImageID = src.ID
	}
	return a, nil
}

// steps lists the build in order; cleanups run in reverse. create and copies
// are the steps that make the image and its copies, which Run asks to undo
// when the build fails late.
func (b *Builder) steps(create *stepCreateImage, copies *stepCopyImages) []multistep.Step {
	cfg := &b.config
	makeImage := !cfg.SkipCreateImage
	copyImage := makeImage && len(cfg.CopyTo) > 0
	verify := makeImage && cfg.Verifies()
	connect := b.connect
	if connect == nil {
		connect = sdkConnect
	}
	return []multistep.Step{
		&stepPreValidate{},
		multistep.If(copyImage, &stepCheckCopies{}),
		multistep.If(verify, &stepVerifyFlavor{}),
		&stepResolveNetwork{},
		&stepSourceImage{},
		multistep.If(needsTemporaryKey(cfg) || cfg.Comm.SSHPrivateKeyFile != "", &communicator.StepSSHKeyGen{
			CommConf:            &cfg.Comm,
			SSHTemporaryKeyPair: cfg.Comm.SSHTemporaryKeyPair,
		}),
		// With -debug the temporary key is written out, so one can log in by hand.
		multistep.If(cfg.PackerDebug && needsTemporaryKey(cfg), &communicator.StepDumpSSHKey{
			Path: debugKeyPath(cfg),
			SSH:  &cfg.Comm.SSH,
		}),
		multistep.If(cfg.PackerDebug && needsTemporaryKey(cfg), &stepRemoveDebugKey{Path: debugKeyPath(cfg)}),
		&stepCreateKeypair{},
		&stepCreateSecurityGroup{},
		&stepCreateVolume{},
		&stepRunServer{},
		&stepWaitServer{},
		&stepGetPassword{},
		&stepAllocateFloatingIP{},
		&stepWaitReachable{},
		connect(&cfg.Comm, commHost(cfg)),
		&commonsteps.StepProvision{},
		&commonsteps.StepCleanupTempKeys{Comm: &cfg.Comm},
		multistep.If(makeImage, &stepStopServer{}),
		multistep.If(makeImage && cfg.UseBlockStorageVolume, &stepDeleteServer{}),
		multistep.If(makeImage, create),
		multistep.If(makeImage, &stepWaitImage{}),
		// With verify the image is promoted only once its boot test passed.
		multistep.If(verify, &stepStageImage{}),
		multistep.If(verify, &stepReleaseBuildServer{}),
		multistep.If(verify, &stepVerify{connect: connect}),
		multistep.If(makeImage, &stepUpdateImage{}),
		multistep.If(copyImage, copies),
	}
}

// debugKeyPath is where -debug writes the temporary private key.
func debugKeyPath(cfg *Config) string { return fmt.Sprintf("glance_%s.pem", cfg.PackerBuildName) }

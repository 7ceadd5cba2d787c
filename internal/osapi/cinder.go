package osapi

import (
	"context"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v2/volumes"
)

// Cinder is the block storage service client.
type Cinder struct {
	client func() (*gophercloud.ServiceClient, error)
	// glance finds an image whose upload-to-image reply was lost.
	glance *Glance
}

func (v *Cinder) CreateVolume(ctx context.Context, spec VolumeSpec) (string, error) {
	c, err := v.client()
	if err != nil {
		return "", err
	}
	var find func(context.Context) ([]string, error)
	if marker := spec.Metadata[MarkerProperty]; marker != "" {
		find = func(ctx context.Context) ([]string, error) { return v.VolumesOfBuild(ctx, spec.Name, marker) }
	}
	return createRecovering(ctx, fmt.Sprintf("volume %q", spec.Name), func(ctx context.Context) (string, error) {
		vol, err := volumes.Create(ctx, c, volumes.CreateOpts{
			Name: spec.Name, Size: spec.SizeGiB, ImageID: spec.ImageID, VolumeType: spec.VolumeType,
			AvailabilityZone: spec.AvailabilityZone, Metadata: spec.Metadata,
		}, nil).Extract()
		if err != nil {
			return "", err
		}
		return vol.ID, nil
	}, find)
}

func (v *Cinder) GetVolume(ctx context.Context, id string) (*Volume, error) {
	c, err := v.client()
	if err != nil {
		return nil, err
	}
	vol, err := volumes.Get(ctx, c, id).Extract()
	if err != nil {
		return nil, err
	}
	return &Volume{ID: vol.ID, Status: vol.Status}, nil
}

func (v *Cinder) DeleteVolume(ctx context.Context, id string) error {
	c, err := v.client()
	if err != nil {
		return err
	}
	return deleteOnce(ctx, func(ctx context.Context) error { return volumes.Delete(ctx, c, id, nil).ExtractErr() })
}

func (v *Cinder) VolumesOfBuild(ctx context.Context, name, buildUUID string) ([]string, error) {
	c, err := v.client()
	if err != nil {
		return nil, err
	}
	pages, err := volumes.List(c, volumes.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, vol := range list {
		if vol.Name == name && vol.Metadata["packer_build_uuid"] == buildUUID {
			ids = append(ids, vol.ID)
		}
	}
	return ids, nil
}

// UploadToImage makes a Glance image of the volume and returns its ID. The
// properties go into the volume's image metadata first: Cinder copies that
// into the new image, so the image carries them (a build's marker among them)
// from the moment it exists.
func (v *Cinder) UploadToImage(ctx context.Context, volumeID, imageName, diskFormat string, properties map[string]string) (string, error) {
	c, err := v.client()
	if err != nil {
		return "", err
	}
	if len(properties) > 0 {
		if err := volumes.SetImageMetadata(ctx, c, volumeID, volumes.ImageMetadataOpts{Metadata: properties}).ExtractErr(); err != nil {
			return "", fmt.Errorf("setting the image metadata of volume %s: %w", volumeID, err)
		}
	}
	started := time.Now()
	var find func(context.Context) ([]string, error)
	if marker := properties[MarkerProperty]; marker != "" && v.glance != nil {
		find = func(ctx context.Context) ([]string, error) {
			return v.glance.imagesMadeBy(ctx, marker, imageName, started)
		}
	}
	return createRecovering(ctx, fmt.Sprintf("image %q", imageName), func(ctx context.Context) (string, error) {
		img, err := volumes.UploadImage(ctx, c, volumeID, volumes.UploadImageOpts{
			ImageName: imageName, DiskFormat: diskFormat, ContainerFormat: "bare",
		}).Extract()
		if err != nil {
			return "", err
		}
		return img.ImageID, nil
	}, find)
}

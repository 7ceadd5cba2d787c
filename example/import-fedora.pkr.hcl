# Imports the Fedora 37 Cloud Base image into Glance, as the seed's Terraform
# configuration did with openstack_images_image_v2, with Packer:
#
#   packer init example/import-fedora.pkr.hcl   # needs a published release; see README
#   OS_CLOUD=mycloud packer build example/import-fedora.pkr.hcl
#   OS_CLOUD=mycloud packer build -var region=kz-ala-1 example/import-fedora.pkr.hcl
#
# Credentials and the region come from clouds.yaml (OS_CLOUD) or OS_* variables,
# as for the openstack client. The plugin streams the file into Glance and checks
# it against Fedora's CHECKSUM file on the way; with -var checksum="" Glance
# downloads the URL itself (web-download) when the cloud offers it. Fedora 37 is
# past its end of life, so the URLs point at Fedora's archive.
#
# On a Ceph-backed cloud, Nova and Cinder clone only raw images copy-on-write; a
# qcow2 image is downloaded and converted whenever a server or volume is made
# from it. There, import a raw image (disk_format = "raw"; a .raw.xz is
# decompressed on the way), or set import_method = "glance-direct" where Glance's
# image_conversion import plugin is enabled, so Glance converts the qcow2 itself.

packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = "github.com/packer-glance/glance"
    }
  }
}

variable "region" {
  type        = string
  default     = ""
  description = "The region to create the image in, such as kz-ala-1; empty: OS_REGION_NAME or the clouds.yaml entry's region_name."
}

variable "image_name" {
  type    = string
  default = "Fedora-Cloud-Base-37-1.7"
}

variable "image_url" {
  type    = string
  default = "https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/37/Cloud/x86_64/images/Fedora-Cloud-Base-37-1.7.x86_64.qcow2"
}

variable "checksum" {
  type        = string
  default     = "sha256:file:https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/37/Cloud/x86_64/images/Fedora-Cloud-37-1.7-x86_64-CHECKSUM"
  description = "The checksum of image_url, or a file listing it (Fedora's CHECKSUM); empty for none."
}

source "null" "fedora" {
  communicator = "none"
}

build {
  sources = ["source.null.fedora"]

  post-processor "glance-import" {
    region           = var.region
    image_name       = var.image_name
    image_source_url = var.image_url
    checksum         = var.checksum
    container_format = "bare"
    disk_format      = "qcow2"
    visibility       = "private"
    min_disk         = 5

    properties = {
      os_distro           = "fedora"
      os_version          = "37"
      hw_qemu_guest_agent = "yes"
      os_require_quiesce  = "yes"
      hw_scsi_model       = "virtio-scsi"
      hw_disk_bus         = "scsi"
    }

    # Replace an older image of the same name once the new one is active.
    image_force = true
  }
}

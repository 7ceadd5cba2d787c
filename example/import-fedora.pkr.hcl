# Imports the Fedora 37 Cloud Base image into Glance, as the seed's Terraform
# configuration did with openstack_images_image_v2, with Packer:
#
#   packer init example/import-fedora.pkr.hcl
#   OS_CLOUD=mycloud packer build example/import-fedora.pkr.hcl
#
# Credentials come from clouds.yaml (OS_CLOUD) or OS_* variables, as for the
# openstack client. By default Glance downloads the URL itself (web-download) when
# the cloud offers it; set import_method = "upload" to stream it through Packer.

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
  default     = "kz-ala-1"
  description = "The region to create the image in."
}

variable "image_name" {
  type    = string
  default = "Fedora-Cloud-Base-37-1.7"
}

variable "image_url" {
  type    = string
  default = "https://archives.fedoraproject.org/pub/archive/fedora/linux/releases/37/Cloud/x86_64/images/Fedora-Cloud-Base-37-1.7.x86_64.qcow2"
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

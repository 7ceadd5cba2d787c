# Builds a golden image from the newest public Fedora 37 image the cloud offers:
# the glance-image data source finds the base image, the glance builder boots it,
# provisions it and saves it as a private image of your project, with its
# properties and tags (set image_visibility = "shared" and image_members to share
# it with other projects).
#
#   packer init example/build.pkr.hcl   # needs a published release; see README
#   OS_CLOUD=mycloud packer build example/build.pkr.hcl
#
# Credentials come from clouds.yaml (OS_CLOUD) or OS_* variables, as for the
# openstack client. Against the project's test cloud: make demo.

packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = "github.com/packer-glance/glance"
    }
  }
}

variable "flavor" {
  type    = string
  default = "m1.small"
}

variable "network" {
  type        = string
  default     = "private"
  description = "The network the temporary server is attached to."
}

variable "floating_ip_network" {
  type        = string
  default     = ""
  description = "An external network to give the server a floating IP from; empty for none."
}

variable "ssh_port" {
  type        = number
  default     = 22
  description = "The port of the server's SSH endpoint (make demo passes the test cloud's)."
}

data "glance-image" "base" {
  visibility = "public"
  properties = {
    os_distro  = "fedora"
    os_version = "37"
  }
  most_recent = true
}

source "glance" "golden" {
  source_image = data.glance-image.base.id
  flavor       = var.flavor
  networks     = [var.network]

  floating_ip_network      = var.floating_ip_network
  temporary_security_group = true
  ssh_username             = "fedora"
  ssh_port                 = var.ssh_port

  image_name       = "golden-fedora-37"
  image_visibility = "private"
  image_tags       = ["golden", "fedora-37"]
  image_min_disk   = 5
  image_properties = {
    os_require_quiesce = "yes"
    hw_scsi_model      = "virtio-scsi"
    hw_disk_bus        = "scsi"
  }
  image_force = true
}

build {
  sources = ["source.glance.golden"]

  provisioner "shell" {
    inline = [
      # The fedora user is not root: writing under /etc needs sudo.
      "echo 'built from ${build.SourceImageName} (${build.SourceImage}) in ${build.Region}' | sudo tee /etc/golden-release",
    ]
  }
}

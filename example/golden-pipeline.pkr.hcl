# A golden-image pipeline, as a nightly job would run it:
#
#   1. the glance-image data source takes the newest image of the base family (images put there
#      by a glance-import with image_family = "fedora-37-base", see docs/post-processors/import.mdx);
#   2. the glance builder boots it, provisions it and snapshots it;
#   3. verify boots a test server from the new image and runs the checks; until they pass the
#      image is private, untagged and outside its family, and a failure deletes it;
#   4. the image is promoted: its visibility, tags and family (golden-fedora);
#   5. retention keeps the three newest images of golden-fedora in the project and hides the
#      older ones (they still boot by ID, so nothing that names one breaks).
#
# Consumers then take the newest good image with
#   data "glance-image" "golden" { family = "golden-fedora" }
#
#   packer init example/golden-pipeline.pkr.hcl
#   OS_CLOUD=mycloud packer build example/golden-pipeline.pkr.hcl

packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = "github.com/packer-glance/glance"
    }
  }
}

variable "base_family" {
  type        = string
  default     = "fedora-37-base"
  description = "The family of the base images the build starts from."
}

variable "golden_family" {
  type    = string
  default = "golden-fedora"
}

variable "keep" {
  type        = number
  default     = 3
  description = "How many golden images to keep visible in the family."
}

variable "flavor" {
  type    = string
  default = "m1.small"
}

variable "network" {
  type    = string
  default = "private"
}

# The newest active, non-hidden image of the base family.
data "glance-image" "base" {
  family = var.base_family
}

source "glance" "golden" {
  source_image             = data.glance-image.base.id
  flavor                   = var.flavor
  networks                 = [var.network]
  temporary_security_group = true
  ssh_username             = "fedora"

  image_name       = "${var.golden_family}-${formatdate("YYYYMMDD-hhmm", timestamp())}"
  image_visibility = "community"
  image_tags       = ["golden", "fedora-37"]
  image_properties = {
    os_require_quiesce = "yes"
    hw_disk_bus        = "scsi"
    hw_scsi_model      = "virtio-scsi"
  }

  # Lifecycle: the family, and how many of it to keep.
  image_family  = var.golden_family
  keep_latest   = var.keep
  retire_action = "hide"

  # The boot test: a server booted from the new image, reached like the build's server.
  verify {
    inline = [
      "systemctl is-system-running --wait || true",
      "test -s /etc/golden-marker",
      "cat /etc/golden-marker",
    ]
    timeout = "10m"
  }

  # Copies to other regions (copy_to blocks) carry image_family; retention then runs in each
  # region they reach.
}

build {
  sources = ["source.glance.golden"]

  provisioner "shell" {
    inline = [
      "echo 'golden image from ${build.SourceImageName} (${build.SourceImage})' | sudo tee /etc/golden-marker",
    ]
  }
}

# Finds a base image with the glance-image data source and prints what it found.
# Run: OS_CLOUD=mycloud packer build example/find-image.pkr.hcl
packer {
  required_plugins {
    glance = {
      version = ">= 0.1.0"
      source  = "github.com/packer-glance/glance"
    }
  }
}

# The newest public Fedora 37 image whose name matches the pattern.
data "glance-image" "fedora" {
  name        = "Fedora-Cloud-Base-37-*"
  visibility  = "public"
  properties  = { os_distro = "fedora", os_version = "37" }
  most_recent = true
}

source "null" "report" {
  communicator = "none"
}

build {
  sources = ["source.null.report"]

  provisioner "shell-local" {
    inline = [
      "echo 'base image: ${data.glance-image.fedora.name} (${data.glance-image.fedora.id})'",
      "echo 'created ${data.glance-image.fedora.created_at}, ${data.glance-image.fedora.disk_format}, ${data.glance-image.fedora.size} bytes'",
    ]
  }
}

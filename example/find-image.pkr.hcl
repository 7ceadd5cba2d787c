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

data "glance-image" "fedora" {
  name = "Fedora-Cloud-Base-37-1.7"
}

source "null" "report" {
  communicator = "none"
}

build {
  sources = ["source.null.report"]

  provisioner "shell-local" {
    inline = ["echo 'base image: ${data.glance-image.fedora.name} (${data.glance-image.fedora.id})'"]
  }
}

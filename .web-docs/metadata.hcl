# For full specification on the configuration of this file visit:
# https://github.com/hashicorp/integration-template#metadata-configuration
integration {
  name        = "Glance"
  description = "Build, find and import Glance images on any OpenStack cloud."
  identifier  = "packer/packer-glance/glance"
  component {
    type = "builder"
    name = "Glance"
    slug = "glance"
  }
  component {
    type = "data-source"
    name = "Glance Image"
    slug = "image"
  }
  component {
    type = "post-processor"
    name = "Glance Import"
    slug = "import"
  }
}
